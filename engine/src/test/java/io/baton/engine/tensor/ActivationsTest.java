package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class ActivationsTest {

    /** Random gates over the range activations reach, odd sizes (vector part and scalar tail), and the edge values. */
    private static float[] gates(SplittableRandom r, int n) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = switch (r.nextInt(12)) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> (float) (r.nextDouble() * 200 - 100);  // far out: exp underflows to 0 on one side
                case 3 -> r.nextBoolean() ? 87.4f : -87.4f;      // just past the underflow bound
                default -> (float) (r.nextGaussian() * 6);
            };
        }
        return g;
    }

    @Test
    void vectorLanesAreBitIdenticalToTheScalarTwin() {
        SplittableRandom r = new SplittableRandom(41);
        for (int n : new int[]{1, 3, 7, 8, 15, 16, 17, 31, 33, 4864, 4867}) {
            float[] g = gates(r, n), u = new float[n];
            for (int i = 0; i < n; i++) u[i] = (float) r.nextGaussian();
            float[] fast = g.clone();
            Activations.siluMul(fast, u, n);
            for (int i = 0; i < n; i++) {
                assertThat(Float.floatToRawIntBits(fast[i])).as("n %d, i %d, gate %s", n, i, g[i])
                        .isEqualTo(Float.floatToRawIntBits(Activations.siluMul(g[i], u[i])));
            }
        }
    }

    @Test
    void matchesThePlainMathExpLoop() {
        SplittableRandom r = new SplittableRandom(43);
        for (int n : new int[]{1, 5, 16, 17, 100, 4864, 4871}) {
            float[] g = gates(r, n), u = new float[n];
            for (int i = 0; i < n; i++) u[i] = (float) r.nextGaussian();
            float[] fast = g.clone(), ref = g.clone();
            Activations.siluMul(fast, u, n);
            Activations.siluMulReference(ref, u, n);
            for (int i = 0; i < n; i++) {
                // a few float roundings apart: exp to ~1e-7 relative, then a division and two products
                assertThat(fast[i]).as("n %d, i %d, gate %s", n, i, g[i])
                        .isCloseTo(ref[i], org.assertj.core.api.Assertions.within(1e-6f * Math.abs(ref[i]) + 1e-30f));
            }
        }
    }

    @Test
    void nanAndInfinitiesBehaveAsThePlainLoop() {
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE};
        for (int n : new int[]{specials.length, 16 + specials.length}) {   // in the tail, and in vector lanes
            float[] g = new float[n], u = new float[n];
            java.util.Arrays.fill(u, 1.5f);
            System.arraycopy(specials, 0, g, n - specials.length, specials.length);
            float[] fast = g.clone(), ref = g.clone();
            Activations.siluMul(fast, u, n);
            Activations.siluMulReference(ref, u, n);
            for (int i = n - specials.length; i < n; i++) {
                assertThat(Float.isNaN(fast[i])).as("gate %s", g[i]).isEqualTo(Float.isNaN(ref[i]));
                if (!Float.isNaN(ref[i])) assertThat(fast[i]).as("gate %s", g[i]).isEqualTo(ref[i]);
            }
        }
    }
}
