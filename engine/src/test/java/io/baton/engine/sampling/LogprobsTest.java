package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LogprobsTest {

    @Test
    void logSoftmaxOfAKnownRow() {
        float[] lp = Logprobs.logSoftmax(new float[]{0f, (float) Math.log(3), 99f}, 2);
        // probabilities 1/4 and 3/4
        assertThat(lp).hasSize(2);
        assertThat((double) lp[0]).isCloseTo(Math.log(0.25), within(1e-6));
        assertThat((double) lp[1]).isCloseTo(Math.log(0.75), within(1e-6));
        // Large logits do not overflow: the max is subtracted first.
        float[] big = Logprobs.logSoftmax(new float[]{1000f, 1000f}, 2);
        assertThat((double) big[0]).isCloseTo(Math.log(0.5), within(1e-6));
        float[] row = new float[3];
        assertThat(Logprobs.logSoftmax(new float[]{0f, (float) Math.log(3), 99f}, 2, row)).isSameAs(row);
        assertThat(row[1]).isEqualTo(lp[1]);
        assertThatThrownBy(() -> Logprobs.logSoftmax(new float[]{0f, 1f}, 2, new float[1])).isInstanceOf(IllegalArgumentException.class);
        float[] masked = Logprobs.logSoftmax(new float[]{Float.NEGATIVE_INFINITY, 1f}, 2);
        assertThat(masked[0]).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(masked[1]).isEqualTo(0f);
    }

    @Test
    void topNIsOrderedWithTiesToTheLowerId() {
        float[] lp = {-3f, -1f, -2f, -1f, -0.5f, -2f};
        assertThat(Logprobs.top(lp, 6, 4)).containsExactly(
                new TokenLogprob(4, -0.5f), new TokenLogprob(1, -1f), new TokenLogprob(3, -1f), new TokenLogprob(2, -2f));
        assertThat(Logprobs.top(lp, 6, 0)).isEmpty();
        assertThat(Logprobs.top(lp, 2, 20)).containsExactly(new TokenLogprob(1, -1f), new TokenLogprob(0, -3f));
        assertThatThrownBy(() -> Logprobs.top(lp, 6, 21)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("top_logprobs must be in [0, 20], got 21");
    }

    @Test
    void topNAgreesWithSortingOnRandomRows() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + r.nextInt(500);
            float[] lp = new float[n];
            for (int i = 0; i < n; i++) lp[i] = -r.nextInt(20) / 4f; // many ties
            int k = r.nextInt(21);
            List<TokenLogprob> expected = java.util.stream.IntStream.range(0, n).boxed()
                    .sorted((a, b) -> lp[a] > lp[b] ? -1 : lp[a] < lp[b] ? 1 : Integer.compare(a, b))
                    .limit(k).map(i -> new TokenLogprob(i, lp[i])).toList();
            assertThat(Logprobs.top(lp, n, k)).isEqualTo(expected);
        }
    }

    @Test
    void forTokenGivesTheChosenTokensLogprobAndTheTopNAsLogSoftmaxDoes() {
        float[] logits = {1f, 3f, 2f, 3f, -1f};
        float[] lp = Logprobs.logSoftmax(logits, 4);
        float[] scratch = new float[4];
        TokenLogprobs t = Logprobs.forToken(logits, 4, 2, 2, scratch);
        assertThat(t.token()).isEqualTo(2);
        assertThat(t.logprob()).isEqualTo(lp[2]);
        assertThat(t.top()).containsExactly(new TokenLogprob(1, lp[1]), new TokenLogprob(3, lp[3]));
        assertThat(Logprobs.forToken(logits, 4, 0, 0, scratch).top()).isEmpty();
        assertThatThrownBy(() -> Logprobs.forToken(logits, 4, 4, 1, scratch)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token 4");
        assertThatThrownBy(() -> Logprobs.forToken(logits, 4, 0, 1, new float[3])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void forTokenEqualsLogSoftmaxThenTopOnRandomRows() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        for (int trial = 0; trial < 50; trial++) {
            int n = 1 + r.nextInt(3000); // odd sizes: the sum's tail and the kernels' scalar tails
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = trial % 5 == 0 ? r.nextInt(8) : (float) (r.nextGaussian() * 4); // ties too
            int k = r.nextInt(21), token = r.nextInt(n);
            float[] lp = Logprobs.logSoftmax(logits, n);
            TokenLogprobs t = Logprobs.forToken(logits, n, token, k, new float[n]);
            assertThat(t.logprob()).isEqualTo(lp[token]);
            assertThat(t.top()).isEqualTo(Logprobs.top(lp, n, k));
            double sum = 0;
            for (float v : lp) sum += Math.exp(v);
            assertThat(sum).isCloseTo(1.0, within(1e-5));
        }
    }
}
