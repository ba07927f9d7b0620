package io.baton.cli;

import io.baton.bench.ServeBenchmark;
import io.baton.bench.client.Endpoint;
import io.baton.bench.data.DatasetOptions;
import io.baton.bench.data.Datasets;
import io.baton.bench.metrics.Slo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code baton bench serve}: flags follow {@code vllm bench serve} where it has one (see docs/bench.md). */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmarks an OpenAI-compatible streaming endpoint: TTFT, TPOT, ITL, E2E latency, throughput, goodput.",
                "Writes result.json and report.html into --out."})
public final class BenchServeCommand implements Callable<Integer> {
    @Option(names = {"--url", "--base-url"}, required = true, paramLabel = "URL", description = "Server root, e.g. http://127.0.0.1:8000")
    String url;
    @Option(names = "--model", required = true, description = "Model name sent in each request")
    String model;
    @Option(names = "--endpoint", defaultValue = "chat", description = "chat (/v1/chat/completions) or completions (/v1/completions). Default: ${DEFAULT-VALUE}")
    String endpoint;
    @Option(names = {"--dataset", "--dataset-name"}, defaultValue = "random", description = "random, sharegpt, mooncake or prefix-repetition. Default: ${DEFAULT-VALUE}")
    String dataset;
    @Option(names = "--dataset-path", paramLabel = "FILE", description = "Dataset file (sharegpt JSON, mooncake JSONL)")
    Path datasetPath;
    @Option(names = "--num-prompts", defaultValue = "1000", description = "Requests to send. Default: ${DEFAULT-VALUE}")
    int numPrompts;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of every random choice. Default: ${DEFAULT-VALUE}")
    long seed;
    @Option(names = "--tokenizer", paramLabel = "FILE.gguf", description = "Size prompts in this model's tokens (default: approximate, 4 characters per token)")
    Path tokenizer;

    @Option(names = "--random-input-len", defaultValue = "1024", description = "random: input tokens. Default: ${DEFAULT-VALUE}")
    int randomInputLen;
    @Option(names = "--random-output-len", defaultValue = "128", description = "random: output tokens. Default: ${DEFAULT-VALUE}")
    int randomOutputLen;
    @Option(names = "--random-range-ratio", defaultValue = "0.0", description = "random: lengths drawn from [len*(1-r), len*(1+r)]. Default: ${DEFAULT-VALUE}")
    double randomRangeRatio;
    @Option(names = "--random-prefix-len", defaultValue = "0", description = "random: tokens of a prefix shared by all prompts. Default: ${DEFAULT-VALUE}")
    int randomPrefixLen;
    @Option(names = "--sharegpt-output-len", description = "sharegpt: output tokens for every request (default: the reference answer's length, else 256)")
    Integer sharegptOutputLen;
    @Option(names = "--mooncake-start", defaultValue = "0", description = "mooncake: first trace line to replay (0-based). Default: ${DEFAULT-VALUE}")
    int mooncakeStart;
    @Option(names = "--mooncake-length-scale", defaultValue = "1.0", description = "mooncake: scales input lengths and the 512-token block. Default: ${DEFAULT-VALUE}")
    double mooncakeLengthScale;
    @Option(names = "--mooncake-output-scale", defaultValue = "1.0", description = "mooncake: scales output lengths. Default: ${DEFAULT-VALUE}")
    double mooncakeOutputScale;
    @Option(names = {"--time-scale", "--mooncake-time-scale"}, defaultValue = "1.0", description = "Multiplies trace timestamps (0.5 = twice as fast). Default: ${DEFAULT-VALUE}")
    double timeScale;
    @Option(names = "--prefix-repetition-prefix-len", defaultValue = "256", description = "prefix-repetition: prefix tokens. Default: ${DEFAULT-VALUE}")
    int prefixLen;
    @Option(names = "--prefix-repetition-suffix-len", defaultValue = "256", description = "prefix-repetition: suffix tokens. Default: ${DEFAULT-VALUE}")
    int suffixLen;
    @Option(names = "--prefix-repetition-num-prefixes", defaultValue = "10", description = "prefix-repetition: distinct prefixes. Default: ${DEFAULT-VALUE}")
    int numPrefixes;
    @Option(names = "--prefix-repetition-output-len", defaultValue = "128", description = "prefix-repetition: output tokens. Default: ${DEFAULT-VALUE}")
    int prefixOutputLen;

    @Option(names = "--request-rate", description = "Requests per second (Poisson, or gamma with --burstiness), 'inf' for all at once, 'trace' for the trace's timestamps. Default: inf, trace for mooncake")
    String requestRate;
    @Option(names = "--burstiness", defaultValue = "1.0", description = "Gamma shape of inter-arrival gaps: 1 = Poisson, < 1 burstier. Default: ${DEFAULT-VALUE}")
    double burstiness;
    @Option(names = "--max-concurrency", defaultValue = "0", description = "At most this many requests in flight (0: no limit)")
    int maxConcurrency;
    @Option(names = "--duration", defaultValue = "0", description = "Send no request scheduled after this many seconds (0: no limit)")
    double duration;
    @Option(names = "--sweep", split = ",", paramLabel = "RATE", description = "Run once per request rate, e.g. 1,2,4,inf; overrides --request-rate")
    List<String> sweep;
    @Option(names = "--ignore-eos", description = "Ask the server to ignore EOS so outputs reach max_tokens (vLLM's ignore_eos)")
    boolean ignoreEos;
    @Option(names = "--temperature", description = "Sampling temperature sent with each request (default: the server's)")
    Double temperature;
    @Option(names = "--extra-body", paramLabel = "JSON", description = "JSON object merged into every request body")
    String extraBody;

    @Option(names = "--slo", defaultValue = "ttft=0.4,tpot=0.04", description = "SLO thresholds in seconds (ttft, tpot, e2el). Default: ${DEFAULT-VALUE}")
    String slo;
    @Option(names = "--slo-percentile", defaultValue = "90", description = "Percentile that must meet each SLO threshold. Default: ${DEFAULT-VALUE}")
    double sloPercentile;
    @Option(names = "--metric-percentiles", defaultValue = "50,90,99", split = ",", description = "Percentiles reported. Default: ${DEFAULT-VALUE}")
    List<Double> metricPercentiles;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: bench-results/serve-<time>)")
    Path out;
    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY)")
    String apiKey;
    @Option(names = "--header", paramLabel = "NAME:VALUE", description = "Extra HTTP header; repeatable")
    List<String> headers = new ArrayList<>();
    @Option(names = "--timeout", defaultValue = "600", description = "Fail a request when no byte arrives for this many seconds. Default: ${DEFAULT-VALUE}")
    double timeout;
    @Option(names = "--event-loops", defaultValue = "1", description = "Client event-loop threads (one core each at most). Default: ${DEFAULT-VALUE}")
    int eventLoops;
    @Option(names = "--progress", defaultValue = "auto", description = "auto, bar, lines or off. Default: ${DEFAULT-VALUE}")
    String progress;
    @Option(names = "--loop-priority", defaultValue = "auto", paramLabel = "MODE",
            description = "auto (short-slice where the kernel has it, else normal); normal; realtime: the client's event loops in SCHED_FIFO (chrt; needs CAP_SYS_NICE); or short-slice:"
                    + " the loops ask Linux for a 0.1 ms time slice (no privilege, Linux 6.12+). Either way arriving bytes are"
                    + " timestamped ahead of the client's other threads on shared cores. Default: ${DEFAULT-VALUE}")
    String loopPriority;
    @Option(names = "--no-check", description = "Skip the one-request endpoint check before the run")
    boolean noCheck;
    @Option(names = "--no-warmup", description = "Skip warming the client's code against an in-process server (about 1 s)")
    boolean noWarmup;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // --tokenizer FILE.gguf: the engine's tokenizer (the bench module itself does not depend on the engine).
        io.baton.bench.tokens.PromptTokenizers.setGgufLoader(GgufPromptTokenizer::load);
        java.io.PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        try {
            ServeBenchmark.run(options(), stdout, stderr);
            return 0;
        } catch (IllegalArgumentException e) {
            stderr.println("baton bench serve: " + e.getMessage());
            return 2;
        } catch (ServeBenchmark.EndpointException | IOException e) {
            stderr.println("baton bench serve: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stderr.println("baton bench serve: interrupted");
            return 130;
        } catch (Exception e) {
            stderr.println("baton bench serve: " + e);
            return 1;
        }
    }

    ServeBenchmark.Options options() {
        if (!Datasets.KINDS.contains(dataset)) {
            throw new IllegalArgumentException("unknown --dataset '" + dataset + "' (one of " + String.join(", ", Datasets.KINDS) + ")");
        }
        if (!List.of("auto", "bar", "lines", "off").contains(progress)) throw new IllegalArgumentException("--progress must be auto, bar, lines or off");
        DatasetOptions d = new DatasetOptions(dataset, datasetPath, numPrompts, seed, randomInputLen, randomOutputLen,
                randomRangeRatio, randomPrefixLen, sharegptOutputLen == null ? 0 : sharegptOutputLen, 256, mooncakeStart,
                mooncakeLengthScale, mooncakeOutputScale, prefixLen, suffixLen, numPrefixes, prefixOutputLen);
        if (sharegptOutputLen != null && sharegptOutputLen < 1) throw new IllegalArgumentException("--sharegpt-output-len must be >= 1");
        List<Double> rates = new ArrayList<>();
        if (sweep != null && !sweep.isEmpty()) {
            for (String s : sweep) rates.add(rate(s));
        } else {
            rates.add(rate(requestRate != null ? requestRate : dataset.equals("mooncake") ? "trace" : "inf"));
        }
        if (rates.stream().anyMatch(r -> Double.isNaN(r)) && !dataset.equals("mooncake")) {
            throw new IllegalArgumentException("--request-rate trace needs a dataset with timestamps (mooncake)");
        }
        Map<String, String> h = new LinkedHashMap<>();
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        if (key != null && !key.isBlank()) h.put("Authorization", "Bearer " + key);
        for (String s : headers) {
            int c = s.indexOf(':');
            if (c <= 0) throw new IllegalArgumentException("--header must be NAME:VALUE, got '" + s + "'");
            h.put(s.substring(0, c).trim(), s.substring(c + 1).trim());
        }
        double[] ps = metricPercentiles.stream().mapToDouble(Double::doubleValue).toArray();
        for (double p : ps) if (p < 0 || p > 100) throw new IllegalArgumentException("--metric-percentiles must be in [0, 100]");
        for (double p : new double[]{50, 90, 99}) {
            if (java.util.Arrays.stream(ps).noneMatch(x -> x == p)) ps = java.util.stream.DoubleStream.concat(java.util.Arrays.stream(ps), java.util.stream.DoubleStream.of(p)).toArray();
        }
        java.util.Arrays.sort(ps);
        if (timeout <= 0) throw new IllegalArgumentException("--timeout must be > 0 seconds");
        if (duration < 0) throw new IllegalArgumentException("--duration must be >= 0");
        Path dir = out != null ? out : Path.of("bench-results", "serve-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)));
        return new ServeBenchmark.Options(url, model, Endpoint.parse(endpoint), d, tokenizer, rates, burstiness, maxConcurrency,
                duration, timeScale, ignoreEos, temperature, extraBody, Slo.parse(slo, sloPercentile), ps, dir, h, timeout,
                eventLoops, progress, !noCheck, !noWarmup, io.baton.bench.run.LoopPriority.parse(loopPriority));
    }

    static double rate(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity")) return Double.POSITIVE_INFINITY;
        if (t.equals("trace")) return Double.NaN;
        try {
            double r = Double.parseDouble(t);
            if (!(r > 0) || Double.isInfinite(r)) throw new NumberFormatException();
            return r;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("request rate must be a number > 0, 'inf' or 'trace', got '" + s + "'");
        }
    }
}
