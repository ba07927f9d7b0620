package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplingKernelsTest {

    @Test
    void vectorWeightsAreBitIdenticalToTheScalarTwin() {
        SplittableRandom r = new SplittableRandom(17);
        for (int n : new int[]{1, 3, 7, 8, 15, 16, 17, 31, 33, 1000, 4099}) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                logits[i] = switch (r.nextInt(8)) {
                    case 0 -> Float.NEGATIVE_INFINITY;
                    case 1 -> (float) (-r.nextDouble() * 200); // far below: underflow to 0
                    case 2 -> 0f;
                    case 3 -> -0f;
                    default -> (float) (r.nextGaussian() * 10);
                };
            }
            logits[r.nextInt(n)] = (float) (r.nextGaussian() * 10); // at least one finite logit
            float max = logits[SamplingKernels.argmax(logits, n)];
            for (float invT : new float[]{1f, 1 / 0.7f, 1 / 1.7f, 100f, 0.01f}) {
                float[] out = new float[n];
                SamplingKernels.weights(logits, n, max, invT, out);
                for (int i = 0; i < n; i++) {
                    float expected = SamplingKernels.weight(logits[i], max, invT);
                    assertThat(Float.floatToRawIntBits(out[i])).as("n %d, token %d, logit %s, 1/T %s", n, i, logits[i], invT)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    @Test
    void softmaxInPlaceMatchesThePlainLoop() {
        // Attention's softmax: odd lengths (vector part and tail), scaled scores, a NaN propagating to every weight.
        SplittableRandom r = new SplittableRandom(5);
        for (int n : new int[] {1, 2, 15, 16, 17, 33, 100, 513}) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 20);
            float scale = 0.125f;
            double max = Double.NEGATIVE_INFINITY;
            for (float v : a) max = Math.max(max, v);
            double[] e = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++) sum += e[i] = Math.exp((a[i] - max) * scale);
            float[] fast = a.clone();
            SamplingKernels.softmaxInPlace(fast, n, scale);
            for (int i = 0; i < n; i++) {
                assertThat((double) fast[i]).as("n %d, i %d", n, i).isCloseTo(e[i] / sum, org.assertj.core.api.Assertions.within(1e-6 * (e[i] / sum) + 1e-30));
            }
        }
        for (int n : new int[] {3, 100}) { // the scalar and the vector path
            float[] nan = new float[n];
            for (int i = 0; i < n; i++) nan[i] = i;
            nan[1] = Float.NaN;
            SamplingKernels.softmaxInPlace(nan, n, 1f);
            for (float v : nan) assertThat(v).as("n %d", n).isNaN();
        }
    }

    @Test
    void shortRowsTakeTheScalarLoopWithTheVectorLoopsResults() {
        // Lengths on both sides of SCALAR_BELOW, each bit for bit against the vector weights of the same row, summed
        // in double and scaled as softmaxInPlace documents.
        SplittableRandom r = new SplittableRandom(9);
        int k = SamplingKernels.SCALAR_BELOW;
        for (int n : new int[] {1, 17, k - 1, k, k + 1, 3 * k + 5}) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 20);
            float max = Float.NEGATIVE_INFINITY;
            for (float v : a) max = Math.max(max, v);
            float[] w = new float[n];
            SamplingKernels.weights(a, n, max, 0.125f, w); // the vector weights, bit-identical to the scalar ones
            double sum = 0;
            for (float v : w) sum += v;
            float inv = (float) (1.0 / sum);
            float[] fast = a.clone();
            SamplingKernels.softmaxInPlace(fast, n, 0.125f);
            for (int i = 0; i < n; i++) assertThat(fast[i]).as("n %d, i %d", n, i).isEqualTo(w[i] * inv);
        }
    }

    @Test
    void argmaxMatchesAScalarScanOnOddSizes() {
        SplittableRandom r = new SplittableRandom(23);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + r.nextInt(trial < 100 ? 40 : 5000);
            float[] l = new float[n];
            for (int i = 0; i < n; i++) l[i] = r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : Math.round(r.nextGaussian() * 3);
            l[r.nextInt(n)] = 0f;
            int expected = 0;
            for (int i = 1; i < n; i++) if (l[i] > l[expected]) expected = i;
            assertThat(SamplingKernels.argmax(l, n)).isEqualTo(expected);
        }
        float[] nan = new float[40];
        nan[37] = Float.NaN;
        assertThatThrownBy(() -> SamplingKernels.argmax(nan, 40)).hasMessage("logit of token 37 is NaN");
    }

    @Test
    void firstAboveMatchesAScalarScanOnOddSizes() {
        SplittableRandom r = new SplittableRandom(29);
        for (int trial = 0; trial < 300; trial++) {
            int n = r.nextInt(trial < 100 ? 40 : 3000);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = r.nextInt(10) == 0 ? Float.NaN : Math.round(r.nextGaussian() * 3);
            int from = n == 0 ? 0 : r.nextInt(n + 1);
            float threshold = Math.round(r.nextGaussian() * 4);
            int expected = from;
            while (expected < n && !(a[expected] > threshold)) expected++;
            assertThat(SamplingKernels.firstAbove(a, from, n, threshold)).as("trial %d", trial).isEqualTo(expected);
        }
    }
}
