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
     * {@code log_softmax} of {@code logits[0..vocabSize)}: {@code l_i - max - log(sum exp(l_j - max))}, the sum in
     * double over the vectorized weights of {@link SamplingKernels}.
     */
    public static float[] logSoftmax(float[] logits, int vocabSize) {
        if (vocabSize < 1 || vocabSize > logits.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit a logits row of " + logits.length);
        }
        float max = logits[SamplingKernels.argmax(logits, vocabSize)];
        float[] out = new float[vocabSize];
        SamplingKernels.weights(logits, vocabSize, max, 1f, out);
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) sum += out[i];
        double logZ = max + Math.log(sum);
        for (int i = 0; i < vocabSize; i++) out[i] = (float) (logits[i] - logZ);
        return out;
    }

    /**
     * What a request that asked for log-probabilities gets with {@code token}: its log-probability and the {@code n}
     * most likely tokens.
     *
     * @param logprobs a row of {@link #logSoftmax}
     */
    public static TokenLogprobs forToken(float[] logprobs, int vocabSize, int token, int n) {
        if (token < 0 || token >= vocabSize) throw new IllegalArgumentException("token " + token + " is not in a vocabulary of " + vocabSize);
        return new TokenLogprobs(token, logprobs[token], top(logprobs, vocabSize, n));
    }

    /**
     * The n most likely tokens, most likely first, ties to the lower id; selected with a bounded heap (no full sort).
     *
     * @param n 0 to {@link #MAX_TOP_LOGPROBS}
     */
    public static List<TokenLogprob> top(float[] logprobs, int vocabSize, int n) {
        if (n < 0 || n > MAX_TOP_LOGPROBS) throw new IllegalArgumentException("top_logprobs must be in [0, " + MAX_TOP_LOGPROBS + "], got " + n);
        if (vocabSize < 1 || vocabSize > logprobs.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit a row of " + logprobs.length);
        }
        int k = Math.min(n, vocabSize);
        int[] best = new int[k]; // sorted best first; insertion keeps it so (k ≤ 20)
        int size = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (size == k && (k == 0 || !Sampler.ranksBefore(logprobs, i, best[k - 1]))) continue;
            int at = size < k ? size++ : k - 1;
            while (at > 0 && Sampler.ranksBefore(logprobs, i, best[at - 1])) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        List<TokenLogprob> out = new ArrayList<>(size);
        for (int j = 0; j < size; j++) out.add(new TokenLogprob(best[j], logprobs[best[j]]));
        return out;
    }
}
