package io.baton.engine.sampling;

import io.baton.engine.tensor.FastExp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two passes over a whole logits row that sampling cannot avoid, vectorized: the argmax and the softmax weights;
 * and the scan that log-probabilities' top-N selection makes.
 *
 * <p>The weights use {@link FastExp}'s {@code exp}, whose vector and scalar forms do the same operations in the same
 * order: the vector lanes and the scalar twin {@link #weight} give bit-identical results in every JIT tier and on
 * every CPU, so sampling stays reproducible from its seed and equal to the plain reference implementation.
 */
public final class SamplingKernels {
    private SamplingKernels() {}

    /**
     * Softmax in place of {@code a[0, n)} scaled by {@code scale > 0}: {@code a[i] = exp((a[i] - max) * scale) / sum},
     * with this class's {@code exp} and the sum in double; vector loops from {@link #SCALAR_BELOW} scores on, a scalar
     * loop of the same operations below (same results). Attention uses it for its scores: a scalar {@code Math.exp} per
     * score cost about 15% of a 512-token prefill.
     */
    public static void softmaxInPlace(float[] a, int n, float scale) {
        if (n == 0) return;
        if (n < SCALAR_BELOW) {
            softmaxScalar(a, n, scale);
            return;
        }
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int bound = F.loopBound(n); j < bound; j += F.length()) vmax = vmax.max(FloatVector.fromArray(F, a, j));
        float max = vmax.reduceLanes(VectorOperators.MAX);  // NaN propagates to every weight, as in the plain loop
        for (; j < n; j++) max = Math.max(max, a[j]);
        weights(a, n, max, scale, a);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += a[i];
        float inv = (float) (1.0 / sum);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) FloatVector.fromArray(F, a, i).mul(inv).intoArray(a, i);
        for (; i < n; i++) a[i] *= inv;
    }

    /**
     * Below this many scores {@link #softmaxInPlace} runs as a scalar loop over the same operations (same results, bit
     * for bit). Attention in batched decode calls it once per query head and token with a few dozen scores (5,376 calls
     * in a batch-16 step of qwen2.5-0.5b), where the vector loops cost more than they save and their speed swung with
     * the length: a probe with lengths varying from 17 to 48 took 130-950 ns per call, one with 16 held fixed 20 µs (a
     * recompilation loop, likely), the scalar loop 115 ns at 16 and 299 at 48. Engine, batch 16, steps alternating in
     * one JVM ({@code scripts/step-ab}): +3.5% and +3.7%. From about 64 on the vector loops win (128 scores: 295 ns
     * against 779).
     */
    static final int SCALAR_BELOW = 64;

    /** {@link #softmaxInPlace} one score at a time: the same max, the same weights, the same double sum and scaling. */
    private static void softmaxScalar(float[] a, int n, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, a[i]); // NaN propagates, as in the vector loop
        double sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = weight(a[i], max, scale);
            sum += a[i];
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) a[i] *= inv;
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** The softmax weight of one token: {@code exp((logit - max) * invTemperature)}, 1 for the best token. */
    static float weight(float logit, float max, float invTemperature) {
        return FastExp.expNonPositive((logit - max) * invTemperature);
    }

    /** {@code out[i] = weight(logits[i], max, invTemperature)} for i in [0, n), bit-identical to the scalar form. */
    static void weights(float[] logits, int n, float max, float invTemperature, float[] out) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, logits, i).sub(max).mul(invTemperature);
            FastExp.expNonPositive(x).intoArray(out, i);
        }
        for (; i < n; i++) out[i] = weight(logits[i], max, invTemperature);
    }

    /**
     * The first index in {@code [from, n)} whose value is greater than {@code threshold}, or {@code n}: a vector
     * comparison skips whole blocks (top-N selection rejects almost every token this way). NaN is never greater.
     */
    static int firstAbove(float[] a, int from, int n, float threshold) {
        int i = from;
        for (int bound = from + F.loopBound(n - from); i < bound; i += F.length()) {
            int lane = FloatVector.fromArray(F, a, i).compare(VectorOperators.GT, threshold).firstTrue();
            if (lane < F.length()) return i + lane;
        }
        for (; i < n; i++) {
            if (a[i] > threshold) return i;
        }
        return n;
    }

    /**
     * Index of the largest of {@code logits[0..n)}, the lowest index among equals.
     *
     * @throws IllegalArgumentException on a NaN logit or when all are -infinity
     */
    static int argmax(float[] logits, int n) {
        FloatVector best = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, logits, i);
            if (v.test(VectorOperators.IS_NAN).anyTrue()) break; // the scalar loop below finds and reports it
            best = best.max(v);
        }
        float max = best.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float l = logits[i];
            if (l != l) throw new IllegalArgumentException("logit of token " + i + " is NaN");
            if (l > max) max = l;
        }
        if (max == Float.NEGATIVE_INFINITY) throw new IllegalArgumentException("all " + n + " logits are -infinity");
        int j = 0;
        for (int bound = F.loopBound(n); j < bound; j += F.length()) {
            int lane = FloatVector.fromArray(F, logits, j).compare(VectorOperators.EQ, max).firstTrue();
            if (lane < F.length()) return j + lane;
        }
        for (; ; j++) {
            if (logits[j] == max) return j;
        }
    }
}
