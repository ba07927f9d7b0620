package io.baton.bench.metrics;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Summary statistics of one metric, in seconds.
 *
 * @param percentiles p-th percentile by name ({@code p50}, {@code p90}, {@code p99}, ...), see {@link Percentiles}
 * @param std         population standard deviation (numpy's default, as vLLM reports it)
 */
public record Distribution(int count, double mean, double std, double min, double max, Map<String, Double> percentiles) {

    public static final double[] DEFAULT_PERCENTILES = {50, 90, 99};

    public static Distribution of(double[] values, double[] ps) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        Map<String, Double> pct = new LinkedHashMap<>();
        for (double p : ps) pct.put(name(p), Percentiles.of(v, p));
        if (v.length == 0) return new Distribution(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, pct);
        double sum = 0;
        for (double d : v) sum += d;
        double mean = sum / v.length, ss = 0;
        for (double d : v) ss += (d - mean) * (d - mean);
        return new Distribution(v.length, mean, Math.sqrt(ss / v.length), v[0], v[v.length - 1], pct);
    }

    /** {@code p50}, {@code p99}, {@code p99.9}. */
    public static String name(double p) {
        return "p" + (p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p));
    }

    public double p(double p) {
        Double v = percentiles.get(name(p));
        if (v == null) throw new IllegalArgumentException("percentile " + p + " not computed");
        return v;
    }
}
