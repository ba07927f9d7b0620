package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StopCheckerTest {
    static final int EOS = 2;

    static StopChecker checker(SamplingParams.Builder b) {
        return new StopChecker(b.build(), EOS);
    }

    @Test
    void stopStringSplitAcrossTokensIsNeverEmittedInPart() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(100).stop(List.of("</stop>")));
        assertThat(c.accept(10, "Hello <")).isEqualTo(new StopChecker.Step("Hello ", null, null, -1));
        assertThat(c.accept(11, "/st")).isEqualTo(new StopChecker.Step("", null, null, -1));
        StopChecker.Step last = c.accept(12, "op> tail");
        assertThat(last).isEqualTo(new StopChecker.Step("", FinishReason.STOP, "</stop>", -1));
        assertThat(c.finished()).isTrue();
        assertThatThrownBy(() -> c.accept(13, "x")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void heldBackTextIsReleasedWhenItCannotBeAStopAnyMore() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(100).stop(List.of("STOP")));
        assertThat(c.accept(10, "aST").text()).isEqualTo("a");
        assertThat(c.accept(11, "x").text()).isEqualTo("STx");
        assertThat(c.accept(12, "S").text()).isEqualTo("");
        assertThat(c.accept(13, "S").text()).isEqualTo("S"); // "SS": only the last S can still start STOP
        StopChecker.Step s = c.accept(14, "TOP!");
        assertThat(s.text()).isEqualTo("");
        assertThat(s.stopString()).isEqualTo("STOP");
    }

    @Test
    void earliestMatchWinsAndTextBeforeItIsEmitted() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(100).stop(List.of("world", "lo w")));
        assertThat(c.accept(10, "hel")).isEqualTo(new StopChecker.Step("he", null, null, -1)); // "l" may start "lo w"
        assertThat(c.accept(11, "lo world")).isEqualTo(new StopChecker.Step("l", FinishReason.STOP, "lo w", -1));
    }

    @Test
    void holdsTheLongestPossiblePrefixOverSeveralStops() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(100).stop(List.of("abc", "bcd", "x")));
        assertThat(c.accept(10, "zab").text()).isEqualTo("z");   // "ab" may start "abc"
        assertThat(c.accept(11, "c").stopString()).isEqualTo("abc");
    }

    @Test
    void eosAndStopTokensEndWithoutTheirTextAndReleaseHeldText() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(100).stop(List.of("END")));
        assertThat(c.accept(10, "fin E").text()).isEqualTo("fin ");
        assertThat(c.accept(EOS, "</s>")).isEqualTo(new StopChecker.Step("E", FinishReason.STOP, null, EOS));

        StopChecker t = checker(SamplingParams.builder().maxTokens(100).stopTokenIds(Set.of(7)));
        assertThat(t.accept(7, "<|im_end|>")).isEqualTo(new StopChecker.Step("", FinishReason.STOP, null, 7));
    }

    @Test
    void ignoreEosKeepsGoingUntilLength() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(3).ignoreEos(true).stop(List.of("zz")));
        assertThat(c.accept(EOS, "a").finished()).isFalse();
        assertThat(c.accept(EOS, "b").finished()).isFalse();
        // The length limit flushes the held-back "z" too: no more tokens will come to complete it.
        assertThat(c.accept(5, "cz")).isEqualTo(new StopChecker.Step("cz", FinishReason.LENGTH, null, -1));
        assertThat(c.tokens()).isEqualTo(3);
    }

    @Test
    void stopStringOnTheLastAllowedTokenIsAStopNotALength() {
        StopChecker c = checker(SamplingParams.builder().maxTokens(1).stop(List.of("!")));
        assertThat(c.accept(5, "hi!")).isEqualTo(new StopChecker.Step("hi", FinishReason.STOP, "!", -1));
        assertThat(FinishReason.LENGTH.wireName()).isEqualTo("length");
    }
}
