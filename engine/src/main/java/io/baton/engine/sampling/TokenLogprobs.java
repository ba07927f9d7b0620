package io.baton.engine.sampling;

import java.util.List;

/**
 * The log-probabilities that come with one generated token when a request asks for them ({@link SamplingParams#logprobs()}):
 * the chosen token's, and the {@link SamplingParams#topLogprobs()} most likely tokens, most likely first. Both of the
 * model's raw distribution ({@link Logprobs}).
 *
 * @param token   the chosen token
 * @param logprob its log-probability, ≤ 0
 * @param top     the most likely tokens, most likely first (empty when none were asked for)
 */
public record TokenLogprobs(int token, float logprob, List<TokenLogprob> top) {
    public TokenLogprobs {
        top = List.copyOf(top);
    }
}
