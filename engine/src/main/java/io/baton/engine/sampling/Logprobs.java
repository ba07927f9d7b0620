package io.baton.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities for OpenAI's {@code logprobs} / {@code top_logprobs}: of the model's raw distribution (before
 * penalties and temperature), as vLLM returns by default.
 */
public final class Logprobs {
    /** OpenAI's bound on {@code top_logprobs}. */
    public static final int MAX_TOP_LOGPROBS = 20;

    private Logprobs() {}

    /**
     * {@code log_softmax} of {@code logits[0..vocabSize)}: {@code l_i - logZ} with {@code logZ} from
     * {@link #logNormalizer}.
     */
    public static float[] logSoftmax(float[] logits, int vocabSize) {
        return logSoftmax(logits, vocabSize, new float[vocabSize]);
    }

    /**
     * {@link #logSoftmax(float[], int)} into {@code out[0..vocabSize)} (a caller's reused row: no allocation per token).
     *
     * @return {@code out}
     */
    public static float[] logSoftmax(float[] logits, int vocabSize, float[] out) {
        double logZ = logNormalizer(logits, vocabSize, out);
        for (int i = 0; i < vocabSize; i++) out[i] = (float) (logits[i] - logZ);
        return out;
    }

    /**
     * What a request that asked for log-probabilities gets with {@code token}: its log-probability and the {@code n}
     * most likely tokens, with the values {@link #logSoftmax} gives, but without writing the whole log-softmax row:
     * the normalizer and the top {@code n} of the logits (ranked as the log-probabilities are, ties to the lower id).
     *
     * @param logits  the model's raw row (before penalties); not modified
     * @param scratch at least {@code vocabSize} floats, overwritten (reused by the caller from token to token)
     */
    public static TokenLogprobs forToken(float[] logits, int vocabSize, int token, int n, float[] scratch) {
        if (token < 0 || token >= vocabSize) throw new IllegalArgumentException("token " + token + " is not in a vocabulary of " + vocabSize);
        double logZ = logNormalizer(logits, vocabSize, scratch);
        int[] best = topIds(logits, vocabSize, n);
        List<TokenLogprob> top = new ArrayList<>(best.length);
        for (int id : best) top.add(new TokenLogprob(id, (float) (logits[id] - logZ)));
        return new TokenLogprobs(token, (float) (logits[token] - logZ), top);
    }

    /**
     * {@code logZ = log(sum_j exp(l_j)) = max + log(sum_j exp(l_j - max))}: the weights {@code exp(l_j - max)} by the
     * vectorized kernel of {@link SamplingKernels} into {@code scratch}, summed in double.
     */
    static double logNormalizer(float[] logits, int vocabSize, float[] scratch) {
        if (vocabSize < 1 || vocabSize > logits.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit a logits row of " + logits.length);
        }
        if (scratch.length < vocabSize) throw new IllegalArgumentException("row of " + scratch.length + " is shorter than vocabSize " + vocabSize);
        float max = logits[SamplingKernels.argmax(logits, vocabSize)];
        SamplingKernels.weights(logits, vocabSize, max, 1f, scratch);
        // Four running sums: one chain of dependent additions would wait for each add (about 4 cycles) per token.
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < vocabSize; i += 4) {
            s0 += scratch[i];
            s1 += scratch[i + 1];
            s2 += scratch[i + 2];
            s3 += scratch[i + 3];
        }
        for (; i < vocabSize; i++) s0 += scratch[i];
        return max + Math.log((s0 + s1) + (s2 + s3));
    }

    /**
     * The n most likely tokens, most likely first, ties to the lower id; selected with a bounded heap (no full sort).
     *
     * @param n 0 to {@link #MAX_TOP_LOGPROBS}
     */
    public static List<TokenLogprob> top(float[] logprobs, int vocabSize, int n) {
        int[] best = topIds(logprobs, vocabSize, n);
        List<TokenLogprob> out = new ArrayList<>(best.length);
        for (int id : best) out.add(new TokenLogprob(id, logprobs[id]));
        return out;
    }

    /** The ids of the n highest scores, highest first, ties to the lower id (logits and log-probabilities rank alike). */
    private static int[] topIds(float[] scores, int vocabSize, int n) {
        if (n < 0 || n > MAX_TOP_LOGPROBS) throw new IllegalArgumentException("top_logprobs must be in [0, " + MAX_TOP_LOGPROBS + "], got " + n);
        if (vocabSize < 1 || vocabSize > scores.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit a row of " + scores.length);
        }
        int k = Math.min(n, vocabSize);
        int[] best = new int[k]; // sorted best first; insertion keeps it so (k ≤ 20)
        if (k == 0) return best;
        int size = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (size == k) {
                // Full: only a score above the worst kept one gets in (an equal one comes later, so it has the higher
                // id and ranks after); almost every token falls below, whole vector blocks at a time.
                i = SamplingKernels.firstAbove(scores, i, vocabSize, scores[best[k - 1]]);
                if (i == vocabSize) break;
            }
            int at = size < k ? size++ : k - 1;
            while (at > 0 && Sampler.ranksBefore(scores, i, best[at - 1])) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        return best;
    }
}
