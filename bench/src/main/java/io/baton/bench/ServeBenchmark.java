package io.baton.bench;

import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.StreamClient;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.data.DatasetOptions;
import io.baton.bench.data.Datasets;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.baton.bench.metrics.Slo;
import io.baton.bench.metrics.Summary;
import io.baton.bench.report.HtmlReport;
import io.baton.bench.report.ResultJson;
import io.baton.bench.run.Arrivals;
import io.baton.bench.run.BenchRunner;
import io.baton.bench.run.ClientWarmup;
import io.baton.bench.run.LoopPriority;
import io.baton.bench.run.Progress;
import io.baton.bench.run.RunResult;
import io.baton.bench.tokens.PromptTokenizer;
import io.baton.bench.tokens.PromptTokenizers;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code baton bench serve}: loads the workload, checks the endpoint with one request, runs it at each request rate,
 * prints vLLM's summary block, and writes {@code result.json} and {@code report.html} into the output folder.
 */
public final class ServeBenchmark {
    private ServeBenchmark() {}

    /**
     * @param rates          request rates to run, one or more (a sweep); {@code Double.NaN} replays the trace's timestamps
     * @param durationSec    send no request scheduled after this many seconds (0: no limit)
     * @param timeScale      multiplies trace timestamps
     * @param headers        extra HTTP headers ({@code Authorization} from the API key among them)
     * @param progress       {@code auto}, {@code bar}, {@code lines} or {@code off}
     * @param check          send one short request first and stop with its error if it fails
     * @param warmup         warm the client's code first against an in-process server ({@link ClientWarmup})
     * @param loopPriority   how the client's event loops are scheduled against its other threads ({@link LoopPriority})
     */
    public record Options(String url, String model, Endpoint endpoint, DatasetOptions dataset, Path tokenizer,
                          List<Double> rates, double burstiness, int maxConcurrency, double durationSec, double timeScale,
                          boolean ignoreEos, Double temperature, String extraBody, Slo slo, double[] percentiles,
                          Path out, Map<String, String> headers, double timeoutSec, int eventLoops, String progress,
                          boolean check, boolean warmup, LoopPriority loopPriority) {}

    /** What a benchmark produced. */
    public record Outcome(List<ResultJson.Run> runs, Path resultJson, Path reportHtml) {}

    /** Thrown when the endpoint check fails: the message is the one line to show. */
    public static final class EndpointException extends RuntimeException {
        public EndpointException(String message) {
            super(message);
        }
    }

    public static Outcome run(Options o, PrintWriter out, PrintWriter err) throws Exception {
        if (o.rates().isEmpty()) throw new IllegalArgumentException("no request rate given");
        if (o.maxConcurrency() < 0) throw new IllegalArgumentException("--max-concurrency must be >= 0");
        PromptTokenizer tokenizer = PromptTokenizers.forFile(o.tokenizer());
        List<BenchRequest> requests = Datasets.load(o.dataset(), tokenizer);
        for (double r : o.rates()) {
            if (Double.isNaN(r)) Arrivals.trace(requests, o.timeScale());
            else Arrivals.gamma(1, r, o.burstiness(), 0);
        }
        Files.createDirectories(o.out());
        Map<String, Object> config = config(o, tokenizer, requests.size());
        RequestBodies bodies = new RequestBodies(o.endpoint(), o.model(), o.ignoreEos(), o.temperature(), o.extraBody());
        int connections = o.maxConcurrency() > 0 ? o.maxConcurrency() : requests.size();
        List<ResultJson.Run> runs = new ArrayList<>();
        if (o.warmup()) {
            ClientWarmup.run(o.eventLoops());
            ClientWarmup.awaitJitQuiet(10_000);
        }
        try (StreamClient client = new StreamClient(o.url(), o.endpoint(), o.eventLoops(), connections + 1, o.headers(), o.timeoutSec())) {
            LoopPriority applied = o.loopPriority().apply(client.loopLinuxThreadIds());
            config.put("loop_priority", applied.cliName());   // what auto chose, where it was asked for
            if (o.check()) check(client, bodies, o.endpoint(), requests.getFirst(), err);
            for (int k = 0; k < o.rates().size(); k++) {
                double rate = o.rates().get(k);
                double[] offsets = Double.isNaN(rate) ? Arrivals.trace(requests, o.timeScale())
                        : Arrivals.gamma(requests.size(), rate, o.burstiness(), o.dataset().seed());
                String label = o.rates().size() > 1 ? "rate " + HtmlReport.rateLabel(rate) : "";
                RunResult run;
                try (Progress p = new Progress(err, requests.size(), label, o.progress())) {
                    run = BenchRunner.run(client, bodies, o.endpoint(), requests, offsets, rate, o.maxConcurrency(),
                            o.durationSec(), "r" + k, p);
                }
                Summary s = Summary.of(run.results(), run.duration(), o.slo(), o.percentiles());
                runs.add(new ResultJson.Run(run, s));
                print(out, rate, run, s);
                if (o.rates().size() > 1) {
                    ResultJson.write(o.out().resolve("result-rate-" + HtmlReport.rateLabel(rate) + ".json"), config, List.of(runs.getLast()), false);
                }
            }
        }
        Path json = o.out().resolve("result.json"), html = o.out().resolve("report.html");
        ResultJson.write(json, config, runs, runs.size() > 1);
        HtmlReport.write(html, o.model() + " / " + o.dataset().kind(), config, runs);
        out.println("Wrote " + json + " and " + html);
        return new Outcome(runs, json, html);
    }

    /** One short request, like vLLM's initial test run: a wrong URL or model stops here with one line. */
    private static void check(StreamClient client, RequestBodies bodies, Endpoint endpoint, BenchRequest first, PrintWriter err)
            throws InterruptedException {
        BenchRequest probe = new BenchRequest(first.index(), first.prompt(), first.inputTokens(), Math.min(first.outputTokens(), 8), Double.NaN);
        RunResult r = BenchRunner.run(client, bodies, endpoint, List.of(probe), new double[]{0}, Double.POSITIVE_INFINITY, 0, 0,
                "check", Progress.off(1));
        RequestResult res = r.results().getFirst();
        if (!res.ok()) {
            throw new EndpointException("endpoint check failed (" + client.url() + "): " + res.errorCode()
                    + (res.errorMessage() == null || res.errorMessage().isBlank() ? "" : ": " + res.errorMessage()));
        }
    }

    private static Map<String, Object> config(Options o, PromptTokenizer tok, int n) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("url", o.url());
        c.put("endpoint", o.endpoint().path);
        c.put("model", o.model());
        DatasetOptions d = o.dataset();
        c.put("dataset", d.kind());
        c.put("dataset_path", d.path() == null ? null : d.path().toString());
        c.put("num_prompts", n);
        c.put("seed", d.seed());
        c.put("tokenizer", tok.name());
        switch (d.kind()) {
            case "random" -> {
                c.put("random_input_len", d.randomInputLen());
                c.put("random_output_len", d.randomOutputLen());
                c.put("random_range_ratio", d.randomRangeRatio());
                c.put("random_prefix_len", d.randomPrefixLen());
            }
            case "sharegpt" -> c.put("sharegpt_output_len", d.sharegptOutputLen() > 0 ? d.sharegptOutputLen() : null);
            case "mooncake" -> {
                c.put("mooncake_start", d.mooncakeStart());
                c.put("mooncake_length_scale", d.mooncakeLengthScale());
                c.put("mooncake_output_scale", d.mooncakeOutputScale());
                c.put("time_scale", o.timeScale());
            }
            default -> {
                c.put("prefix_len", d.prefixLen());
                c.put("suffix_len", d.suffixLen());
                c.put("num_prefixes", d.numPrefixes());
                c.put("output_len", d.prefixRepetitionOutputLen());
            }
        }
        List<Object> rates = new ArrayList<>();
        for (double r : o.rates()) rates.add(Double.isFinite(r) ? (Object) r : HtmlReport.rateLabel(r));
        c.put("request_rate", rates.size() == 1 ? rates.getFirst() : rates);
        c.put("burstiness", o.burstiness());
        c.put("max_concurrency", o.maxConcurrency() > 0 ? o.maxConcurrency() : null);
        c.put("duration_limit", o.durationSec() > 0 ? o.durationSec() : null);
        c.put("ignore_eos", o.ignoreEos());
        c.put("temperature", o.temperature());
        Map<String, Object> slo = new LinkedHashMap<>(o.slo().thresholds());
        slo.put("percentile", o.slo().percentile());
        c.put("slo", slo);
        c.put("event_loops", o.eventLoops());
        c.put("loop_priority", o.loopPriority().cliName());
        return c;
    }

    /** The summary block, in the layout of vLLM's {@code benchmark_serving} so numbers can be compared by eye. */
    static void print(PrintWriter out, double rate, RunResult run, Summary s) {
        String l = "%-44s %12s%n";
        out.printf(Locale.ROOT, "%s%n", center(" Serving Benchmark Result " + (Double.isNaN(rate) ? "(trace) " : "(rate " + HtmlReport.rateLabel(rate) + ") ")));
        out.printf(Locale.ROOT, l, "Successful requests:", s.completed());
        out.printf(Locale.ROOT, l, "Failed requests:", s.failed() + (s.errors().isEmpty() ? "" : " " + s.errors()));
        if (run.notSent() > 0) out.printf(Locale.ROOT, l, "Not sent (--duration):", run.notSent());
        out.printf(Locale.ROOT, l, "Benchmark duration (s):", fmt(s.duration()));
        out.printf(Locale.ROOT, l, "Total input tokens:", s.totalInputTokens());
        out.printf(Locale.ROOT, l, "Total generated tokens:", s.totalOutputTokens());
        out.printf(Locale.ROOT, l, "Request throughput (req/s):", fmt(s.requestThroughput()));
        out.printf(Locale.ROOT, l, "Output token throughput (tok/s):", fmt(s.outputTokenThroughput()));
        out.printf(Locale.ROOT, l, "Total token throughput (tok/s):", fmt(s.totalTokenThroughput()));
        out.printf(Locale.ROOT, l, "Goodput (req/s, " + s.sloSpec() + "):", fmt(s.goodput()));
        out.printf(Locale.ROOT, l, "SLO attainment (%):", fmt(s.sloAttainment() * 100));
        section(out, "Time to First Token", "TTFT", s.ttft());
        section(out, "Time per Output Token (excl. 1st token)", "TPOT", s.tpot());
        section(out, "Inter-token Latency", "ITL", s.itl());
        out.printf(Locale.ROOT, l, "TBT, mean of slowest 10% of gaps (ms):", fmt(s.tbt() * 1000));
        section(out, "End-to-end Latency", "E2EL", s.e2el());
        out.printf(Locale.ROOT, "%s%n", center(" Client overhead "));
        out.printf(Locale.ROOT, l, "Event-loop lag p99 / max (ms):", fmt(run.client().loopLag().p(99) * 1000) + " / " + fmt(run.client().loopLag().max() * 1000));
        out.printf(Locale.ROOT, l, "Event-loop CPU per event (us):", fmt(run.client().cpuMicrosPerEvent()));
        out.printf(Locale.ROOT, l, "Event-loop utilization (%):", fmt(run.client().loopUtilization() * 100));
        out.printf(Locale.ROOT, l, "Arrival timer lag p99 (ms):", fmt(run.client().timerLag().p(99) * 1000));
        out.println("=".repeat(58));
    }

    private static void section(PrintWriter out, String title, String name, Distribution d) {
        out.printf(Locale.ROOT, "%s%n", center(title, '-'));
        out.printf(Locale.ROOT, "%-44s %12s%n", "Mean " + name + " (ms):", fmt(d.mean() * 1000));
        for (var e : d.percentiles().entrySet()) {
            out.printf(Locale.ROOT, "%-44s %12s%n", (e.getKey().equals("p50") ? "Median" : "P" + e.getKey().substring(1)) + " " + name + " (ms):", fmt(e.getValue() * 1000));
        }
    }

    private static String center(String s) {
        return center(s, '=');
    }

    private static String center(String s, char pad) {
        int left = Math.max(0, (58 - s.length()) / 2), right = Math.max(0, 58 - s.length() - left);
        return String.valueOf(pad).repeat(left) + s + String.valueOf(pad).repeat(right);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }
}
