package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

import static io.baton.engine.tensor.Vec.L;
import static org.assertj.core.api.Assertions.assertThat;

/** The packed layouts of {@link Gemm}: every value lands where the tiles read it, and padding is zero. */
class GemmTest {
    @Test
    void packedPanelRowsHoldTheDequantizedValuesBitForBit() {
        // Q8_0 writes its packed places directly on 512-bit vectors; the others stage a row. Odd sizes for F16 and F32
        // (a padded last vector), whole blocks for the rest.
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.F16, GgmlType.F32, GgmlType.BF16)) {
            int n = switch (type.blockSize) {
                case 256 -> 512;
                case 32 -> 96;
                default -> 37;
            };
            Tensor w = Blocks.randomTensor(type, 4, n, 5);
            RowKernel kernel = RowKernel.of(type);
            MemorySegment data = RawWeights.segment(w);
            long base = RawWeights.base(w);
            int v = Gemm.vectors(n);
            float[] p = new float[4 * v * L];
            Arrays.fill(p, Float.NaN);
            float[] row = new float[v * L];
            for (int r = 0; r < 4; r++) kernel.dequantizePacked(data, base + r * w.rowBytes(), p, r, n, row);
            float[] expected = new float[n];
            for (int r = 0; r < 4; r++) {
                w.dequantizeRow(r, expected, 0);
                for (int c = 0; c < v * L; c++) {
                    float got = p[((c / L) * 4 + r) * L + c % L];
                    if (c < n) {
                        assertThat(Float.floatToRawIntBits(got)).as("%s row %d column %d", type, r, c)
                                .isEqualTo(Float.floatToRawIntBits(expected[c]));
                    } else {
                        assertThat(got).as("%s row %d padding %d", type, r, c).isZero();
                    }
                }
            }
        }
    }

    @Test
    void packedTokensAreGroupedByVectorWithZeroPadding() {
        int cols = 2 * L + 5, tokens = 4;
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = i + 1;
        int k0 = 3, n = cols - k0; // a slice that starts inside a vector of x
        int v = Gemm.vectors(n);
        float[] dst = new float[3 * v * L + 7];
        Arrays.fill(dst, Float.NaN);
        Gemm.packTokens(x, cols, 1, 3, k0, n, dst, 7);
        for (int j = 0; j < v; j++) {
            for (int i = 0; i < 3; i++) {
                for (int l = 0; l < L; l++) {
                    float got = dst[7 + (j * 3 + i) * L + l];
                    int c = j * L + l;
                    assertThat(got).as("vector %d token %d lane %d", j, i, l)
                            .isEqualTo(c < n ? x[(1 + i) * cols + k0 + c] : 0f);
                }
            }
        }
        assertThat(dst[6]).isNaN(); // nothing written before the destination
    }

    @Test
    void groupsCoverEveryTokenOnceLargestFirst() {
        for (int tokens = 1; tokens <= 19; tokens++) {
            StringBuilder seen = new StringBuilder();
            int t = 0;
            for (int g; t < tokens; t += g) {
                g = Gemm.group(tokens, t);
                seen.append(g);
            }
            assertThat(t).as("tokens %d", tokens).isEqualTo(tokens);
            // 4s (512-bit vectors) or 3s while they fit, then single tokens: 7 -> "43" or "331", 6 -> "411" or "33".
            String expected = Gemm.FOUR_TOKENS
                    ? "4".repeat(tokens / 4) + (tokens % 4 == 3 ? "3" : "1".repeat(tokens % 4))
                    : "3".repeat(tokens / 3) + "1".repeat(tokens % 3);
            assertThat(seen.toString()).as("tokens %d", tokens).isEqualTo(expected);
        }
    }
}
