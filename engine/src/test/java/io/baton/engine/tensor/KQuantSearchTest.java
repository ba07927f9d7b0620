package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The lockstep searches against the one-group reference transcriptions of ggml-quants.c, bit for bit. */
class KQuantSearchTest {

    /** 8 groups of {@code n} values of a mix of shapes that exercise every branch of the searches. */
    private static float[] groups(Random r, int n, int xo) {
        float[] x = new float[xo + 8 * n];
        for (int g = 0; g < 8; g++) {
            int kind = r.nextInt(9);
            float scale = (float) Math.pow(10, r.nextInt(9) - 6);
            for (int i = 0; i < n; i++) {
                float v = (float) r.nextGaussian() * scale;
                x[xo + g * n + i] = switch (kind) {
                    case 0 -> 0f;                                    // all zero
                    case 1 -> 0.25f;                                 // flat, positive
                    case 2 -> Math.abs(v) + scale;                   // all positive: min clipped to 0
                    case 3 -> -Math.abs(v);                          // all negative
                    case 4 -> i == 7 ? 3 * scale : 0f;               // one spike
                    case 5 -> 1e-17f * (i - n / 2f);                 // below GROUP_MAX_EPS
                    case 6 -> (float) Math.floor(v / scale * 4) * scale / 4; // values already on a grid
                    default -> v;
                };
            }
        }
        return x;
    }

    @Test
    void qkx2MatchesReference() {
        Random r = new Random(11);
        KQuantSearch s = new KQuantSearch();
        for (int trial = 0; trial < 1000; trial++) {
            int xo = r.nextInt(5);
            float[] x = groups(r, 32, xo);
            float[] w = new float[256];
            for (int i = 0; i < 256; i++) w[i] = r.nextInt(4) == 0 ? 1f : (float) (0.1 + r.nextDouble() * 3);
            int[] lanesL = new int[256];
            float[] scales = new float[8], mins = new float[8];
            s.qkx2(15, x, xo, w, lanesL, scales, mins, -1f, 0.1f, 20);
            for (int g = 0; g < 8; g++) {
                int[] refL = new int[256];
                float[] refMin = new float[8];
                float[] wg = java.util.Arrays.copyOfRange(w, 32 * g, 32 * g + 32);
                float refScale = Quantize.makeQkx2Quants(32, 15, x, xo + 32 * g, wg, refL, 32 * g, refMin, g, new int[32], -1f, 0.1f, 20, false);
                assertThat(Float.floatToRawIntBits(scales[g])).as("scale of group %d, trial %d", g, trial).isEqualTo(Float.floatToRawIntBits(refScale));
                assertThat(Float.floatToRawIntBits(mins[g])).as("min of group %d, trial %d", g, trial).isEqualTo(Float.floatToRawIntBits(refMin[g]));
                assertThat(java.util.Arrays.copyOfRange(lanesL, 32 * g, 32 * g + 32)).isEqualTo(java.util.Arrays.copyOfRange(refL, 32 * g, 32 * g + 32));
            }
        }
    }

    @Test
    void qxMatchesReference() {
        Random r = new Random(12);
        KQuantSearch s = new KQuantSearch();
        for (int trial = 0; trial < 1000; trial++) {
            int xo = r.nextInt(5);
            float[] x = groups(r, 16, xo);
            int[] lanesL = new int[3 + 128];
            float[] scales = new float[2 + 8];
            s.qx(32, x, xo, lanesL, 3, scales, 2);
            for (int g = 0; g < 8; g++) {
                int[] refL = new int[128];
                float refScale = Quantize.makeQxQuants(16, 32, x, xo + 16 * g, refL, 16 * g);
                assertThat(Float.floatToRawIntBits(scales[2 + g])).as("scale of group %d, trial %d", g, trial).isEqualTo(Float.floatToRawIntBits(refScale));
                assertThat(java.util.Arrays.copyOfRange(lanesL, 3 + 16 * g, 3 + 16 * g + 16)).isEqualTo(java.util.Arrays.copyOfRange(refL, 16 * g, 16 * g + 16));
            }
        }
    }
}
