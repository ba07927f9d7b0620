package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenCountsTest {

    @Test
    void countsPromptAndOutputSeparately() {
        TokenCounts c = TokenCounts.ofPrompt(new int[]{5, 5, 9});
        c.addGenerated(5);
        c.addGenerated(151_935);
        assertThat(c.promptCount(5)).isEqualTo(2);
        assertThat(c.generatedCount(5)).isEqualTo(1);
        assertThat(c.promptCount(9)).isEqualTo(1);
        assertThat(c.generatedCount(9)).isZero();
        assertThat(c.generatedCount(151_935)).isEqualTo(1);
        assertThat(c.promptCount(7)).isZero();
        assertThat(c.generatedTotal()).isEqualTo(2);
        assertThat(c.distinctTokens()).isEqualTo(3);
        assertThatThrownBy(() -> c.addPrompt(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void agreesWithAHashMapThroughManyGrowths() {
        SplittableRandom r = new SplittableRandom(8);
        TokenCounts c = new TokenCounts();
        Map<Integer, int[]> expected = new HashMap<>();
        for (int i = 0; i < 50_000; i++) {
            int token = r.nextInt(r.nextBoolean() ? 100 : 150_000);
            boolean prompt = r.nextInt(4) == 0;
            if (prompt) c.addPrompt(token); else c.addGenerated(token);
            expected.computeIfAbsent(token, k -> new int[2])[prompt ? 0 : 1]++;
        }
        assertThat(c.distinctTokens()).isEqualTo(expected.size());
        Map<Integer, int[]> seen = new HashMap<>();
        c.forEach((token, inPrompt, inOutput) -> seen.put(token, new int[]{inPrompt, inOutput}));
        assertThat(seen).hasSameSizeAs(expected);
        expected.forEach((token, counts) -> {
            assertThat(seen.get(token)).as("token %d", token).containsExactly(counts[0], counts[1]);
            assertThat(c.promptCount(token)).isEqualTo(counts[0]);
            assertThat(c.generatedCount(token)).isEqualTo(counts[1]);
        });
    }
}
