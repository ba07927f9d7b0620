package io.baton.bench.metrics;

/**
 * Percentiles as numpy's {@code np.percentile} computes them by default (method "linear", type 7 of Hyndman and Fan,
 * 1996), which is what vLLM's benchmark reports: for sorted {@code x} of length {@code n}, the p-th percentile is at
 * rank {@code h = (n - 1) * p / 100}, interpolated linearly between {@code x[floor(h)]} and {@code x[floor(h) + 1]}.
 */
public final class Percentiles {
    private Percentiles() {}

    /** @param sorted ascending values; NaN when empty */
    public static double of(double[] sorted, double p) {
        if (p < 0 || p > 100) throw new IllegalArgumentException("percentile out of [0, 100]: " + p);
        int n = sorted.length;
        if (n == 0) return Double.NaN;
        double h = (n - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        if (lo >= n - 1) return sorted[n - 1];
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }
}
