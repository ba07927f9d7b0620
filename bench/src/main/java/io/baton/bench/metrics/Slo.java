package io.baton.bench.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Service-level objectives: a latency threshold in seconds per metric ({@code ttft}, {@code tpot}, {@code e2el}) and
 * the percentile that must meet it. The default is the seed documents': P90 TTFT &lt;= 0.4 s and P90 TPOT &lt;= 0.04 s.
 * A request is "good" when it completed and meets every threshold (vLLM's goodput rule); the SLO of a metric is met
 * when its percentile over completed requests is within the threshold.
 */
public record Slo(Map<String, Double> thresholds, double percentile) {
    public static final Slo DEFAULT = new Slo(Map.of("ttft", 0.4, "tpot", 0.04), 90);
    private static final java.util.Set<String> METRICS = java.util.Set.of("ttft", "tpot", "e2el");

    public Slo {
        thresholds = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(thresholds));
        if (percentile <= 0 || percentile > 100) throw new IllegalArgumentException("--slo-percentile must be in (0, 100]");
    }

    /** Parses {@code ttft=0.4,tpot=0.04} (seconds). */
    public static Slo parse(String spec, double percentile) {
        Map<String, Double> t = new LinkedHashMap<>();
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=", 2);
            String name = kv[0].trim().toLowerCase(java.util.Locale.ROOT);
            if (kv.length != 2 || !METRICS.contains(name)) {
                throw new IllegalArgumentException("--slo takes metric=seconds pairs for ttft, tpot, e2el, e.g. ttft=0.4,tpot=0.04; got '" + part.trim() + "'");
            }
            double v;
            try {
                v = Double.parseDouble(kv[1].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--slo " + name + ": not a number of seconds: '" + kv[1].trim() + "'");
            }
            if (!(v > 0)) throw new IllegalArgumentException("--slo " + name + " must be > 0 seconds");
            t.put(name, v);
        }
        return new Slo(t, percentile);
    }

    /** Whether one completed request meets every threshold (a 1-token output has no TPOT and meets that one). */
    public boolean meets(double ttft, double tpot, double e2el) {
        for (var e : thresholds.entrySet()) {
            double v = switch (e.getKey()) {
                case "ttft" -> ttft;
                case "tpot" -> Double.isNaN(tpot) ? 0 : tpot;
                default -> e2el;
            };
            if (v > e.getValue()) return false;
        }
        return true;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        thresholds.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return sb + " at p" + Distribution.name(percentile).substring(1);
    }
}
