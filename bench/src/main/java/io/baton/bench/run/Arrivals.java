package io.baton.bench.run;

import io.baton.bench.data.BenchRequest;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Request arrival times, as offsets in seconds from the start of a run (the first request at 0).
 *
 * <p>Inter-arrival gaps follow vLLM's {@code get_request}: gamma distributed with shape {@code burstiness} and scale
 * {@code 1 / (rate * burstiness)}, so the mean gap is {@code 1 / rate} whatever the burstiness; burstiness 1 is a
 * Poisson process (exponential gaps), below 1 is burstier (coefficient of variation {@code 1 / sqrt(burstiness)}),
 * above 1 is more regular. Rate infinity sends everything at once.
 */
public final class Arrivals {
    private Arrivals() {}

    public static double[] gamma(int n, double rate, double burstiness, long seed) {
        if (!(rate > 0)) throw new IllegalArgumentException("--request-rate must be > 0 or inf, got " + rate);
        if (!(burstiness > 0)) throw new IllegalArgumentException("--burstiness must be > 0, got " + burstiness);
        double[] t = new double[n];
        if (Double.isInfinite(rate)) return t;
        SplittableRandom rnd = new SplittableRandom(seed);
        double scale = 1.0 / (rate * burstiness);
        for (int i = 1; i < n; i++) t[i] = t[i - 1] + sampleGamma(burstiness, scale, rnd);
        return t;
    }

    /** The trace's own timestamps, multiplied by {@code timeScale} (0.5 replays twice as fast). */
    public static double[] trace(List<BenchRequest> requests, double timeScale) {
        if (!(timeScale > 0)) throw new IllegalArgumentException("--mooncake-time-scale must be > 0, got " + timeScale);
        double[] t = new double[requests.size()];
        double first = requests.isEmpty() ? 0 : requests.getFirst().traceTime();
        for (int i = 0; i < t.length; i++) {
            BenchRequest r = requests.get(i);
            if (!r.hasTraceTime()) throw new IllegalArgumentException("this dataset has no timestamps");
            t[i] = (r.traceTime() - first) * timeScale;
            if (i > 0 && t[i] < t[i - 1]) throw new IllegalArgumentException("trace timestamps go backwards at request " + i);
        }
        return t;
    }

    /**
     * One gamma(shape, scale) draw: Marsaglia and Tsang's method ("A simple method for generating gamma variables",
     * ACM TOMS 26(3), 2000), with their boost {@code G(a) = G(a + 1) * U^(1/a)} for shapes below 1.
     */
    static double sampleGamma(double shape, double scale, SplittableRandom rnd) {
        if (shape < 1) {
            double u = rnd.nextDouble();
            return sampleGamma(shape + 1, scale, rnd) * Math.pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rnd.nextGaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rnd.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
        }
    }
}
