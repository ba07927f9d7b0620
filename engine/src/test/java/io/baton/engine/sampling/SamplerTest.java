package io.baton.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {

    static SamplingParams.Builder seeded(long seed) {
        return SamplingParams.builder().seed(seed);
    }

    static float[] randomLogits(SplittableRandom r, int n, double scale) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * scale);
        return l;
    }

    @Test
    void greedyIsArgmaxWithTiesToTheLowestId() {
        Sampler s = new Sampler(SamplingParams.greedy());
        assertThat(s.sample(new float[]{0.5f, 2f, -1f, 2f, 1.9f}, 5, null)).isEqualTo(1);
        assertThat(s.sample(new float[]{3f, 3f, 3f}, 3, null)).isEqualTo(0);
        assertThat(s.sample(new float[]{Float.NEGATIVE_INFINITY, -5f, Float.NEGATIVE_INFINITY}, 3, null)).isEqualTo(1);
        // Only the first vocabSize entries count (padding after the vocabulary is ignored).
        assertThat(s.sample(new float[]{1f, 2f, 99f}, 2, null)).isEqualTo(1);
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        float[] logits = randomLogits(new SplittableRandom(1), 50, 0.5);
        int[] a = draws(seeded(42).build(), logits, 200);
        int[] b = draws(seeded(42).build(), logits, 200);
        int[] c = draws(seeded(43).build(), logits, 200);
        assertThat(a).isEqualTo(b);
        assertThat(c).isNotEqualTo(a);
        assertThat(Arrays.stream(a).distinct().count()).isGreaterThan(10); // really sampling, not stuck
    }

    @Test
    void randomSeedIsPickedAndReported() {
        Sampler s1 = new Sampler(SamplingParams.defaults()), s2 = new Sampler(SamplingParams.defaults());
        assertThat(s1.seed()).isNotNegative();
        assertThat(s1.seed()).isNotEqualTo(s2.seed());
        assertThat(new Sampler(seeded(7).build()).seed()).isEqualTo(7);
    }

    static int[] draws(SamplingParams p, float[] logits, int n) {
        Sampler s = new Sampler(p);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(logits.clone(), logits.length, null);
        return out;
    }

    @Test
    void topK1AndTinyTopPEqualGreedy() {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 100; trial++) {
            int n = 1 + r.nextInt(3000);
            float[] logits = randomLogits(r, n, 3);
            if (trial % 3 == 0) for (int i = 0; i < n; i++) logits[i] = Math.round(logits[i]); // many ties
            int greedy = SamplingKernels.argmax(logits, n);
            assertThat(new Sampler(seeded(trial).topK(1).build()).sample(logits.clone(), n, null)).isEqualTo(greedy);
            assertThat(new Sampler(seeded(trial).topP(1e-6f).build()).sample(logits.clone(), n, null)).isEqualTo(greedy);
            assertThat(new Sampler(seeded(trial).topK(7).topP(1e-6f).build()).sample(logits.clone(), n, null)).isEqualTo(greedy);
        }
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheBest() {
        // p = 0.5, 0.3, 0.15, 0.05; min_p 0.2 keeps p >= 0.1: tokens 0, 1, 2 renormalised over 0.95.
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        Sampler s = new Sampler(seeded(3).minP(0.2f).build());
        int[] counts = new int[4];
        int n = 20_000;
        for (int i = 0; i < n; i++) counts[s.sample(logits.clone(), 4, null)]++;
        assertThat(counts[3]).isZero();
        assertThat(counts[0] / (double) n).isCloseTo(0.5 / 0.95, within(0.015));
        assertThat(counts[1] / (double) n).isCloseTo(0.3 / 0.95, within(0.015));
        assertThat(counts[2] / (double) n).isCloseTo(0.15 / 0.95, within(0.015));
        // min_p 0.7 keeps only the best (0.3 / 0.5 = 0.6 < 0.7).
        Sampler strict = new Sampler(seeded(3).minP(0.7f).build());
        for (int i = 0; i < 200; i++) assertThat(strict.sample(logits.clone(), 4, null)).isZero();
    }

    @Test
    void frequenciesMatchSoftmaxOfLogitsOverTemperature() {
        float[] logits = {1f, 2f, 0.5f, -1f, 3f};
        float t = 0.7f;
        double[] expected = new double[logits.length];
        double z = 0;
        for (int i = 0; i < logits.length; i++) z += expected[i] = Math.exp(logits[i] / t);
        Sampler s = new Sampler(seeded(11).temperature(t).build());
        int[] counts = new int[logits.length];
        int n = 10_000;
        for (int i = 0; i < n; i++) counts[s.sample(logits.clone(), logits.length, null)]++;
        for (int i = 0; i < logits.length; i++) {
            // 4 standard deviations of a binomial proportion at n = 10k is at most 0.02.
            assertThat(counts[i] / (double) n).as("token %d", i).isCloseTo(expected[i] / z, within(0.02));
        }
    }

    @Test
    void topPKeepsTheSmallestHeadReachingP() {
        // p = 0.5, 0.3, 0.15, 0.05; top_p 0.75: 0.5 < 0.75, 0.8 >= 0.75, so tokens 0 and 1 (renormalised 5/8, 3/8).
        float[] logits = {(float) Math.log(0.05), (float) Math.log(0.3), (float) Math.log(0.5), (float) Math.log(0.15)};
        Sampler s = new Sampler(seeded(9).topP(0.75f).build());
        int[] counts = new int[4];
        int n = 10_000;
        for (int i = 0; i < n; i++) counts[s.sample(logits.clone(), 4, null)]++;
        assertThat(counts[0]).isZero();
        assertThat(counts[3]).isZero();
        assertThat(counts[2] / (double) n).isCloseTo(5 / 8.0, within(0.02));
        // Exactly at the boundary: with two equal tokens and p = 0.5 the first reaches p alone, so it is the only one
        // kept (vLLM removes tokens whose ascending cumulative mass is <= 1 - p).
        for (int topK : new int[]{0, 2}) {
            Sampler half = new Sampler(seeded(4).topK(topK).topP(0.5f).build());
            for (int i = 0; i < 100; i++) assertThat(half.sample(new float[]{1f, 1f, -50f}, 3, null)).isZero();
        }
    }

    @Test
    void penaltiesChangeLogitsByTheirFormulas() {
        float[] logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
        TokenCounts history = TokenCounts.ofPrompt(new int[]{0, 1});
        for (int t : new int[]{1, 2, 2, 3}) history.addGenerated(t);
        SamplingParams p = SamplingParams.builder().temperature(0)
                .repetitionPenalty(2f).frequencyPenalty(0.5f).presencePenalty(0.25f).build();
        int token = new Sampler(p).sample(logits, 5, history);
        // token 0, prompt only:      2.0 / 2 = 1.0 (no output count: no frequency/presence)
        // token 1, prompt + 1 out:  -1.0 * 2 = -2.0, - (0.5 * 1 + 0.25) = -2.75
        // token 2, 2 out:            0.5 / 2 = 0.25, - (0.5 * 2 + 0.25) = -1.0
        // token 3, 1 out:            3.0 / 2 = 1.5,  - 0.75 = 0.75
        // token 4, unseen:          -2.0
        assertThat(logits).containsExactly(1.0f, -2.75f, -1.0f, 0.75f, -2.0f);
        assertThat(token).isEqualTo(0);

        float[] only = {1f, 1f, 1f};
        TokenCounts out = new TokenCounts();
        for (int t : new int[]{2, 2, 2, 0}) out.addGenerated(t);
        new Sampler(SamplingParams.builder().temperature(0).frequencyPenalty(-0.5f).build()).sample(only, 3, out);
        assertThat(only).containsExactly(1.5f, 1f, 2.5f); // negative frequency penalty rewards repeats
        float[] presence = {1f, 1f, 1f};
        new Sampler(SamplingParams.builder().temperature(0).presencePenalty(1.5f).build()).sample(presence, 3, out);
        assertThat(presence).containsExactly(-0.5f, 1f, -0.5f);
    }

    @Test
    void fastPathEqualsFullSortReference() {
        SplittableRandom r = new SplittableRandom(2024);
        int[] sizes = {1, 2, 3, 7, 64, 101, 1000, 4099, 32003};
        float[] temperatures = {0f, 0.3f, 1f, 1.7f};
        float[] topPs = {1f, 0.95f, 0.5f, 0.1f, 1e-6f};
        float[] minPs = {0f, 0f, 0.05f, 0.3f};
        int trials = 0;
        for (int n : sizes) {
            int[] topKs = {0, -1, 1, 2, 5, 40, n, n + 3};
            int count = n > 10_000 ? 10 : 30; // the reference is slow on a large vocabulary
            for (int trial = 0; trial < count; trial++, trials++) {
                SamplingParams.Builder b = seeded(r.nextLong() & Long.MAX_VALUE)
                        .temperature(temperatures[r.nextInt(temperatures.length)])
                        .topK(topKs[r.nextInt(topKs.length)])
                        .topP(topPs[r.nextInt(topPs.length)])
                        .minP(minPs[r.nextInt(minPs.length)]);
                if (r.nextInt(3) == 0) b.repetitionPenalty(1.3f).frequencyPenalty(0.4f).presencePenalty(-0.3f);
                SamplingParams p = b.build();
                float[] logits = randomLogits(r, n, 1 + r.nextDouble() * 4);
                if (trial % 4 == 1) for (int i = 0; i < n; i++) logits[i] = Math.round(logits[i] * 2) / 2f; // ties
                if (trial % 4 == 2) for (int i = 0; i < n; i += 3) logits[i] = Float.NEGATIVE_INFINITY; // masked
                if (trial % 4 == 2 && n % 3 == 1) logits[n - 1] = 0f; // keep one finite when every 3rd is masked
                if (trial % 4 == 3) { // a few strong tokens over a long weak tail that still holds much of the mass
                    for (int i = 0; i < n; i++) logits[i] = (float) (r.nextGaussian() - 8);
                    for (int i = 0; i < Math.min(n, 3); i++) logits[r.nextInt(n)] = (float) (r.nextDouble() * 2);
                }
                TokenCounts history = TokenCounts.ofPrompt(r.ints(20, 0, n).toArray());
                Sampler fast = new Sampler(p);
                ReferenceSampler reference = new ReferenceSampler(p);
                for (int step = 0; step < 5; step++) {
                    int expected = reference.sample(logits, n, history);
                    int actual = fast.sample(logits.clone(), n, history);
                    assertThat(actual).as("vocab %d, %s, step %d", n, p, step).isEqualTo(expected);
                    history.addGenerated(actual);
                }
            }
        }
        assertThat(trials).isEqualTo((sizes.length - 1) * 30 + 10);
    }

    @Test
    void badLogitsAreClearErrors() {
        Sampler s = new Sampler(seeded(1).build());
        assertThatThrownBy(() -> s.sample(new float[]{0f, Float.NaN}, 2, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("logit of token 1 is NaN");
        assertThatThrownBy(() -> s.sample(new float[]{Float.NEGATIVE_INFINITY}, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("all 1 logits are -infinity");
        assertThatThrownBy(() -> s.sample(new float[3], 4, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("vocabSize 4 does not fit a logits row of 3");
        Sampler penalised = new Sampler(seeded(1).presencePenalty(1f).build());
        assertThatThrownBy(() -> penalised.sample(new float[3], 3, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("penalties need the token history");
    }
}
