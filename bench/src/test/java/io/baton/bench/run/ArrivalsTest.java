package io.baton.bench.run;

import io.baton.bench.data.BenchRequest;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ArrivalsTest {
    private static final int N = 40_001;

    private static double[] gaps(double[] t) {
        double[] g = new double[t.length - 1];
        for (int i = 0; i < g.length; i++) g[i] = t[i + 1] - t[i];
        return g;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) s += d;
        return s / v.length;
    }

    private static double cv(double[] v) {
        double m = mean(v), ss = 0;
        for (double d : v) ss += (d - m) * (d - m);
        return Math.sqrt(ss / v.length) / m;
    }

    // With 40,000 gaps the sampling error of the mean is about 0.5% / sqrt(burstiness); the bounds are 4x that.
    @Test
    void poissonGapsAreExponential() {
        double[] t = Arrivals.gamma(N, 10, 1.0, 42);
        assertThat(t[0]).isZero();
        double[] g = gaps(t);
        assertThat(mean(g)).isCloseTo(0.1, within(0.002));
        assertThat(cv(g)).isCloseTo(1.0, within(0.03));
        // exponential: P(gap > mean) = 1/e
        long over = java.util.Arrays.stream(g).filter(d -> d > 0.1).count();
        assertThat((double) over / g.length).isCloseTo(Math.exp(-1), within(0.01));
    }

    @Test
    void gammaBurstinessKeepsTheMeanAndSetsTheVariation() {
        for (double b : new double[]{0.25, 0.5, 2.0, 4.0}) {
            double[] g = gaps(Arrivals.gamma(N, 5, b, 7));
            assertThat(mean(g)).as("mean at burstiness %s", b).isCloseTo(0.2, within(0.2 * 0.04 / Math.sqrt(b)));
            assertThat(cv(g)).as("cv at burstiness %s", b).isCloseTo(1 / Math.sqrt(b), within(0.06 / Math.sqrt(b)));
        }
    }

    @Test
    void sameSeedSameSchedule() {
        assertThat(Arrivals.gamma(100, 3, 0.7, 1)).containsExactly(Arrivals.gamma(100, 3, 0.7, 1));
        assertThat(Arrivals.gamma(100, 3, 0.7, 1)).isNotEqualTo(Arrivals.gamma(100, 3, 0.7, 2));
    }

    @Test
    void infiniteRateSendsAllAtOnce() {
        assertThat(Arrivals.gamma(5, Double.POSITIVE_INFINITY, 1, 0)).containsOnly(0.0);
    }

    @Test
    void gammaSamplerMoments() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (double shape : new double[]{0.3, 1, 2.5}) {
            double[] v = new double[N];
            for (int i = 0; i < N; i++) v[i] = Arrivals.sampleGamma(shape, 2.0, rnd);
            assertThat(mean(v)).as("mean, shape %s", shape).isCloseTo(shape * 2, within(shape * 2 * 0.03));
            assertThat(cv(v)).as("cv, shape %s", shape).isCloseTo(1 / Math.sqrt(shape), within(0.05));
        }
    }

    @Test
    void traceTimestampsAreScaledAndStartAtZero() {
        List<BenchRequest> reqs = List.of(new BenchRequest(0, () -> "a", 1, 1, 2.0), new BenchRequest(1, () -> "b", 1, 1, 3.5),
                new BenchRequest(2, () -> "c", 1, 1, 6.0));
        assertThat(Arrivals.trace(reqs, 0.5)).containsExactly(0.0, 0.75, 2.0);
        assertThat(Arrivals.trace(reqs, 1)).containsExactly(0.0, 1.5, 4.0);
        assertThatThrownBy(() -> Arrivals.trace(List.of(BenchRequest.of(0, "x", 1, 1)), 1)).hasMessageContaining("no timestamps");
    }

    @Test
    void badInput() {
        assertThatThrownBy(() -> Arrivals.gamma(3, 0, 1, 0)).hasMessageContaining("--request-rate");
        assertThatThrownBy(() -> Arrivals.gamma(3, 1, 0, 0)).hasMessageContaining("--burstiness");
        assertThatThrownBy(() -> Arrivals.trace(List.of(), 0)).hasMessageContaining("time-scale");
    }
}
