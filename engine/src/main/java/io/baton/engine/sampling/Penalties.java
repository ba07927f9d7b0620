package io.baton.engine.sampling;

/**
 * The logit penalties, applied in place before any filtering, in vLLM's order ({@code apply_penalties} in
 * vllm/model_executor/layers/utils.py): repetition first, then frequency and presence.
 * <ul>
 *   <li>repetition (CTRL, Keskar et al. 2019), over tokens of the prompt and the output: a positive logit is divided
 *       by the penalty, a negative one multiplied, so that a penalty above 1 always makes the token less likely;</li>
 *   <li>frequency and presence (OpenAI's formula), over the output only:
 *       {@code logit -= frequency × count + presence × (count > 0 ? 1 : 0)}.</li>
 * </ul>
 * Only the distinct tokens seen are touched: the cost follows the history, not the vocabulary.
 */
final class Penalties {
    private Penalties() {}

    static boolean active(SamplingParams p) {
        return p.repetitionPenalty() != 1f || p.frequencyPenalty() != 0f || p.presencePenalty() != 0f;
    }

    static void apply(float[] logits, int vocabSize, TokenCounts history, SamplingParams p) {
        if (history == null || !active(p)) return;
        float repetition = p.repetitionPenalty(), frequency = p.frequencyPenalty(), presence = p.presencePenalty();
        history.forEach((token, inPrompt, inOutput) -> {
            if (token >= vocabSize) {
                throw new IllegalArgumentException("token " + token + " in the history is outside the vocabulary of " + vocabSize);
            }
            float l = logits[token];
            if (repetition != 1f && (inPrompt > 0 || inOutput > 0)) l = l > 0 ? l / repetition : l * repetition;
            if (inOutput > 0) l -= frequency * inOutput + presence;
            logits[token] = l;
        });
    }
}
