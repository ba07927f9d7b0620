package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplingParamsTest {

    @Test
    void defaultsAreVllmAndOpenAis() {
        SamplingParams d = SamplingParams.defaults();
        assertThat(d.temperature()).isEqualTo(1f);
        assertThat(d.topK()).isZero();
        assertThat(d.topP()).isEqualTo(1f);
        assertThat(d.minP()).isZero();
        assertThat(d.seed()).isEqualTo(SamplingParams.RANDOM_SEED);
        assertThat(d.repetitionPenalty()).isEqualTo(1f);
        assertThat(d.frequencyPenalty()).isZero();
        assertThat(d.presencePenalty()).isZero();
        assertThat(d.maxTokens()).isEqualTo(16);
        assertThat(d.stop()).isEmpty();
        assertThat(d.stopTokenIds()).isEmpty();
        assertThat(d.ignoreEos()).isFalse();
        assertThat(d.logprobs()).isFalse();
        assertThat(d.topLogprobs()).isZero();
        assertThat(d.isGreedy()).isFalse();
        assertThat(SamplingParams.greedy().isGreedy()).isTrue();
        assertThat(SamplingParams.greedy().toBuilder().build()).isEqualTo(SamplingParams.greedy());
    }

    @Test
    void listsAreCopied() {
        List<String> stop = new ArrayList<>(List.of("a"));
        Set<Integer> ids = new HashSet<>(Set.of(3));
        SamplingParams p = SamplingParams.builder().stop(stop).stopTokenIds(ids).build();
        stop.add("b");
        ids.add(4);
        assertThat(p.stop()).containsExactly("a");
        assertThat(p.stopTokenIds()).containsExactly(3);
    }

    @Test
    void eachBadFieldHasItsOwnMessage() {
        bad(SamplingParams.builder().temperature(-0.1f), "temperature must be a finite number >= 0 (0 = greedy), got -0.1");
        bad(SamplingParams.builder().temperature(Float.NaN), "temperature must be a finite number >= 0 (0 = greedy), got NaN");
        bad(SamplingParams.builder().temperature(Float.POSITIVE_INFINITY), "temperature must be a finite number >= 0 (0 = greedy), got Infinity");
        bad(SamplingParams.builder().topK(-2), "top_k must be -1 or 0 (all tokens) or a positive count, got -2");
        bad(SamplingParams.builder().topP(0f), "top_p must be in (0, 1], got 0.0");
        bad(SamplingParams.builder().topP(1.01f), "top_p must be in (0, 1], got 1.01");
        bad(SamplingParams.builder().minP(-0.01f), "min_p must be in [0, 1], got -0.01");
        bad(SamplingParams.builder().minP(1.5f), "min_p must be in [0, 1], got 1.5");
        bad(SamplingParams.builder().seed(-2), "seed must be >= 0, or -1 for a random seed, got -2");
        bad(SamplingParams.builder().repetitionPenalty(0f), "repetition_penalty must be a finite number > 0 (1 = off), got 0.0");
        bad(SamplingParams.builder().frequencyPenalty(2.5f), "frequency_penalty must be in [-2, 2], got 2.5");
        bad(SamplingParams.builder().presencePenalty(-2.5f), "presence_penalty must be in [-2, 2], got -2.5");
        bad(SamplingParams.builder().maxTokens(0), "max_tokens must be >= 1, got 0");
        bad(SamplingParams.builder().stop(List.of("ok", "")), "stop strings must not be empty");
        bad(SamplingParams.builder().stop(null), "stop must be a list (empty for none), got null");
        bad(SamplingParams.builder().stop(Arrays.asList(new String[65])), "at most 64 stop strings are allowed, got 65");
        bad(SamplingParams.builder().stopTokenIds(Set.of(-1)), "stop_token_ids must be >= 0, got -1");
        bad(SamplingParams.builder().stopTokenIds(null), "stop_token_ids must be a set (empty for none), got null");
        bad(SamplingParams.builder().logprobs(true).topLogprobs(21), "top_logprobs must be in [0, 20], got 21");
        bad(SamplingParams.builder().logprobs(true).topLogprobs(-1), "top_logprobs must be in [0, 20], got -1");
        bad(SamplingParams.builder().topLogprobs(3), "top_logprobs needs logprobs");
    }

    @Test
    void logprobsSurviveTheBuilder() {
        SamplingParams p = SamplingParams.builder().logprobs(true).topLogprobs(20).build();
        assertThat(p.toBuilder().build()).isEqualTo(p);
        assertThat(p.toBuilder().build().topLogprobs()).isEqualTo(20);
    }

    static void bad(SamplingParams.Builder b, String message) {
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }
}
