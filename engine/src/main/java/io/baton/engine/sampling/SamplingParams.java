package io.baton.engine.sampling;

import java.util.List;
import java.util.Set;

/**
 * How one request picks its tokens and when it stops, with the meanings and defaults of vLLM's {@code SamplingParams}
 * and the OpenAI API.
 *
 * @param temperature       divides the logits; 0 means greedy (argmax). Default 1. Must be finite and ≥ 0.
 * @param topK              keep the k most likely tokens; 0 or -1 keep all (vLLM accepts both). Default 0.
 * @param topP              keep the most likely tokens whose cumulative probability reaches p, in (0, 1]. Default 1.
 * @param minP              drop tokens less likely than minP × the most likely one, in [0, 1]. Default 0.
 * @param seed              seeds the request's random generator so that a request can be replayed;
 *                          {@link #RANDOM_SEED} (-1) picks a fresh seed. Default -1.
 * @param repetitionPenalty > 0; tokens seen in the prompt or the output get positive logits divided and negative ones
 *                          multiplied by it (CTRL, Keskar et al. 2019, as vLLM). 1 is off. Default 1.
 * @param frequencyPenalty  in [-2, 2]; subtracted once per earlier occurrence in the output (OpenAI). Default 0.
 * @param presencePenalty   in [-2, 2]; subtracted once if the token occurs in the output (OpenAI). Default 0.
 * @param maxTokens         ≥ 1: the most tokens to generate, then finish with "length". Default 16, the default of
 *                          OpenAI's completions API and of vLLM's SamplingParams; a chat endpoint should pass the room
 *                          left in the context window instead, as OpenAI's chat API does.
 * @param stop              strings that end the output; the matched string is not part of it. At most
 *                          {@link #MAX_STOP_STRINGS}, none empty.
 * @param stopTokenIds      token ids that end the output besides EOS; their text is not part of it.
 * @param ignoreEos         keep generating after EOS (benchmarks use it to get exactly maxTokens tokens).
 * @param logprobs          deliver every generated token's log-probability with it ({@link TokenLogprobs}), of the
 *                          model's raw distribution (before penalties and temperature, as vLLM by default). Default
 *                          false: then nothing is computed.
 * @param topLogprobs       with {@code logprobs}: also this many of the most likely tokens, in [0,
 *                          {@link Logprobs#MAX_TOP_LOGPROBS}]; must be 0 without {@code logprobs}. Default 0.
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, long seed, float repetitionPenalty,
                             float frequencyPenalty, float presencePenalty, int maxTokens, List<String> stop,
                             Set<Integer> stopTokenIds, boolean ignoreEos, boolean logprobs, int topLogprobs) {
    public static final long RANDOM_SEED = -1;
    public static final int DEFAULT_MAX_TOKENS = 16;
    /** OpenAI allows 4 stop sequences; vLLM any number. A bound keeps the per-token stop check cheap. */
    public static final int MAX_STOP_STRINGS = 64;

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < -1) throw new IllegalArgumentException("top_k must be -1 or 0 (all tokens) or a positive count, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        if (seed < -1) throw new IllegalArgumentException("seed must be >= 0, or -1 for a random seed, got " + seed);
        if (!(repetitionPenalty > 0) || Float.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition_penalty must be a finite number > 0 (1 = off), got " + repetitionPenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw new IllegalArgumentException("frequency_penalty must be in [-2, 2], got " + frequencyPenalty);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw new IllegalArgumentException("presence_penalty must be in [-2, 2], got " + presencePenalty);
        }
        if (maxTokens < 1) throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        if (stop == null) throw new IllegalArgumentException("stop must be a list (empty for none), got null");
        if (stop.size() > MAX_STOP_STRINGS) {
            throw new IllegalArgumentException("at most " + MAX_STOP_STRINGS + " stop strings are allowed, got " + stop.size());
        }
        for (String s : stop) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("stop strings must not be empty");
        }
        if (stopTokenIds == null) throw new IllegalArgumentException("stop_token_ids must be a set (empty for none), got null");
        for (Integer id : stopTokenIds) {
            if (id == null || id < 0) throw new IllegalArgumentException("stop_token_ids must be >= 0, got " + id);
        }
        if (topLogprobs < 0 || topLogprobs > Logprobs.MAX_TOP_LOGPROBS) {
            throw new IllegalArgumentException("top_logprobs must be in [0, " + Logprobs.MAX_TOP_LOGPROBS + "], got " + topLogprobs);
        }
        if (topLogprobs > 0 && !logprobs) throw new IllegalArgumentException("top_logprobs needs logprobs");
        stop = List.copyOf(stop);
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    /** vLLM's and OpenAI's defaults: temperature 1, no top-k/top-p/min-p, no penalties, 16 tokens, random seed. */
    public static SamplingParams defaults() {
        return builder().build();
    }

    /** Greedy decoding (temperature 0) with the other defaults. */
    public static SamplingParams greedy() {
        return builder().temperature(0).build();
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().temperature(temperature).topK(topK).topP(topP).minP(minP).seed(seed)
                .repetitionPenalty(repetitionPenalty).frequencyPenalty(frequencyPenalty).presencePenalty(presencePenalty)
                .maxTokens(maxTokens).stop(stop).stopTokenIds(stopTokenIds).ignoreEos(ignoreEos)
                .logprobs(logprobs).topLogprobs(topLogprobs);
    }

    /** Starts from the defaults; {@link #build()} validates. */
    public static final class Builder {
        private float temperature = 1f;
        private int topK = 0;
        private float topP = 1f;
        private float minP = 0f;
        private long seed = RANDOM_SEED;
        private float repetitionPenalty = 1f;
        private float frequencyPenalty = 0f;
        private float presencePenalty = 0f;
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private List<String> stop = List.of();
        private Set<Integer> stopTokenIds = Set.of();
        private boolean ignoreEos = false;
        private boolean logprobs = false;
        private int topLogprobs = 0;

        private Builder() {}

        public Builder temperature(float v) { temperature = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(float v) { topP = v; return this; }
        public Builder minP(float v) { minP = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder repetitionPenalty(float v) { repetitionPenalty = v; return this; }
        public Builder frequencyPenalty(float v) { frequencyPenalty = v; return this; }
        public Builder presencePenalty(float v) { presencePenalty = v; return this; }
        public Builder maxTokens(int v) { maxTokens = v; return this; }
        public Builder stop(List<String> v) { stop = v; return this; }
        public Builder stopTokenIds(Set<Integer> v) { stopTokenIds = v; return this; }
        public Builder ignoreEos(boolean v) { ignoreEos = v; return this; }
        public Builder logprobs(boolean v) { logprobs = v; return this; }
        public Builder topLogprobs(int v) { topLogprobs = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, seed, repetitionPenalty, frequencyPenalty,
                    presencePenalty, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
        }
    }
}
