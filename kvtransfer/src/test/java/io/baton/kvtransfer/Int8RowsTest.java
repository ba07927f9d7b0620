package io.baton.kvtransfer;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The INT8 wire type: layout of a row, the error bound of one scale per (token, head), the edge cases. */
class Int8RowsTest {
    @Test
    void roundTripIsWithinHalfAStepPerHead() {
        Random r = new Random(11);
        int[][] shapes = {{1, 1}, {2, 64}, {3, 7}, {8, 128}, {5, 33}};
        try (Arena a = Arena.ofConfined()) {
            for (int[] s : shapes) {
                int heads = s[0], dim = s[1], rows = 1 + r.nextInt(5);
                float[] x = new float[rows * heads * dim];
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
                MemorySegment q = a.allocate(rows * Int8Rows.rowBytes(heads, dim) + 3);
                Int8Rows.quantize(x, 0, rows, heads, dim, q, 3); // at an odd offset: rows need no alignment
                float[] back = new float[x.length + 2];
                Int8Rows.dequantize(q, 3, rows, heads, dim, back, 2);
                for (int h = 0; h < rows * heads; h++) {
                    float amax = 0;
                    for (int i = 0; i < dim; i++) amax = Math.max(amax, Math.abs(x[h * dim + i]));
                    float scale = q.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                            3 + (h / heads) * Int8Rows.rowBytes(heads, dim) + (long) (h % heads) * 4);
                    assertThat(scale).isEqualTo(amax / 127f);
                    for (int i = 0; i < dim; i++) {
                        assertThat(Math.abs(back[2 + h * dim + i] - x[h * dim + i])).isLessThanOrEqualTo(scale / 2 * 1.0001f);
                    }
                }
            }
        }
    }

    @Test
    void edgeCases() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment q = a.allocate(Int8Rows.rowBytes(2, 4));
            float[] x = {0, 0, 0, 0, -2.54f, 2.54f, 1.27f, 0.01f}; // a head of zeros; an exact amax
            Int8Rows.quantize(x, 0, 1, 2, 4, q, 0);
            assertThat(q.get(ValueLayout.JAVA_BYTE, 8 + 4)).isEqualTo((byte) -127);
            assertThat(q.get(ValueLayout.JAVA_BYTE, 8 + 5)).isEqualTo((byte) 127);
            assertThat(q.get(ValueLayout.JAVA_BYTE, 8 + 6)).isEqualTo((byte) 64); // 63.5 rounds to even
            float[] back = new float[8];
            Int8Rows.dequantize(q, 0, 1, 2, 4, back, 0);
            assertThat(back[0]).isZero();
            assertThat(back[4]).isEqualTo(-2.54f, org.assertj.core.data.Offset.offset(1e-6f));
            assertThat(Int8Rows.rowBytes(2, 64)).isEqualTo(136); // half of F16's 256, a quarter of F32's 512 (plus scales)
        }
    }
}
