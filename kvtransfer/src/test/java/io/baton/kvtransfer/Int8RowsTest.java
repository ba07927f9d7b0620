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
    void vectorQuantizerMatchesTheReferenceByteForByte() {
        Random r = new Random(3);
        try (Arena a = Arena.ofConfined()) {
            for (int c = 0; c < 300; c++) {
                int heads = 1 + r.nextInt(8), dim = 1 + r.nextInt(150), rows = 1 + r.nextInt(4);
                float[] x = new float[rows * heads * dim + 5];
                for (int i = 0; i < x.length; i++) {
                    x[i] = switch (r.nextInt(10)) {
                        case 0 -> 0f;
                        case 1 -> (float) r.nextInt(255) - 127; // exact multiples: ties after scaling
                        case 2 -> (r.nextBoolean() ? 1 : -1) * (r.nextInt(128) + 0.5f) / 127f; // halfway points
                        default -> (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
                    };
                }
                if (r.nextInt(10) == 0) java.util.Arrays.fill(x, 0f); // heads of zeros
                long bytes = rows * Int8Rows.rowBytes(heads, dim);
                MemorySegment fast = a.allocate(bytes + 7), ref = a.allocate(bytes + 7);
                int off = r.nextInt(5);
                Int8Rows.quantize(x, off, rows, heads, dim, fast, 7);
                Int8Rows.quantizeScalar(x, off, rows, heads, dim, ref, 7);
                assertThat(fast.toArray(ValueLayout.JAVA_BYTE)).as("heads %d dim %d", heads, dim).isEqualTo(ref.toArray(ValueLayout.JAVA_BYTE));
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
