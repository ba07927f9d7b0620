package io.baton.bench.metrics;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The aggregate of one run, as {@code vllm bench serve} reports it plus goodput, SLO attainment and Mooncake's TBT.
 * Latency distributions cover completed requests only; failures are counted by code.
 *
 * @param duration               seconds from the run's start to the last request's end
 * @param goodput                completed requests meeting every SLO threshold, per second
 * @param sloAttainment          those requests over all requests sent (a failed request misses every SLO)
 * @param tbt                    Mooncake's TBT: mean of the slowest 10% of all inter-token gaps
 * @param slo                    per metric: threshold, percentile value, whether it is met, and the fraction of
 *                               completed requests within the threshold
 */
public record Summary(int completed, int failed, Map<String, Integer> errors, double duration,
                      long totalInputTokens, long totalOutputTokens, double requestThroughput,
                      double outputTokenThroughput, double totalTokenThroughput,
                      Distribution ttft, Distribution tpot, Distribution itl, Distribution e2el, double tbt,
                      double goodput, double sloAttainment, Slo sloSpec, Map<String, SloResult> slo) {

    /** How one metric fared against its threshold. */
    public record SloResult(double threshold, double value, boolean met, double attainment) {}

    public static Summary of(List<RequestResult> results, double duration, Slo slo, double[] percentiles) {
        List<RequestResult> ok = results.stream().filter(RequestResult::ok).toList();
        Map<String, Integer> errors = new TreeMap<>();
        for (RequestResult r : results) if (!r.ok()) errors.merge(r.errorCode(), 1, Integer::sum);
        long in = 0, out = 0;
        for (RequestResult r : ok) {
            in += r.inputTokens();
            out += r.outputTokens();
        }
        double[] ttft = ok.stream().mapToDouble(RequestResult::ttft).toArray();
        double[] tpot = ok.stream().mapToDouble(RequestResult::tpot).toArray();
        double[] e2el = ok.stream().mapToDouble(RequestResult::e2el).toArray();
        double[] itl = ok.stream().flatMapToDouble(r -> Arrays.stream(r.itls())).toArray();
        int good = 0;
        for (RequestResult r : ok) if (slo.meets(r.ttft(), r.tpot(), r.e2el())) good++;
        Distribution dTtft = Distribution.of(ttft, percentiles), dTpot = Distribution.of(tpot, percentiles);
        Distribution dE2el = Distribution.of(e2el, percentiles);
        Map<String, SloResult> sloResults = new TreeMap<>();
        for (var e : slo.thresholds().entrySet()) {
            double[] v = switch (e.getKey()) {
                case "ttft" -> ttft;
                case "tpot" -> tpot;
                default -> e2el;
            };
            double[] sorted = Arrays.stream(v).filter(d -> !Double.isNaN(d)).sorted().toArray();
            double value = Percentiles.of(sorted, slo.percentile());
            long within = Arrays.stream(v).filter(d -> Double.isNaN(d) || d <= e.getValue()).count();
            sloResults.put(e.getKey(), new SloResult(e.getValue(), value, !ok.isEmpty() && !(value > e.getValue()),
                    ok.isEmpty() ? 0 : (double) within / ok.size()));
        }
        double d = duration > 0 ? duration : Double.NaN;
        return new Summary(ok.size(), results.size() - ok.size(), errors, duration, in, out, ok.size() / d, out / d,
                (in + out) / d, dTtft, dTpot, Distribution.of(itl, percentiles), dE2el, tbt(itl), good / d,
                results.isEmpty() ? 0 : (double) good / results.size(), slo, sloResults);
    }

    /** Mean of the slowest 10% of gaps (at least one gap), NaN without gaps. */
    static double tbt(double[] gaps) {
        if (gaps.length == 0) return Double.NaN;
        double[] s = gaps.clone();
        Arrays.sort(s);
        int k = Math.max(1, (int) Math.ceil(s.length * 0.10));
        double sum = 0;
        for (int i = s.length - k; i < s.length; i++) sum += s[i];
        return sum / k;
    }
}
