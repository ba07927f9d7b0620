package io.baton.cli;

import io.baton.engine.Model;
import io.baton.kvtransfer.bench.KvBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code baton bench kv}: KV transfer throughput against a plain memory copy measured in the same run, in-process and
 * over loopback TCP, and with {@code --model} the TTFT overhead of disaggregation (see {@link KvBench},
 * docs/kv-transfer.md).
 */
@Command(name = "kv", mixinStandardHelpOptions = true,
        description = "KV transfer: throughput vs memcpy (in-process, TCP, INT8 wire); with --model, TTFT overhead of the handoff.")
final class BenchKvCommand implements Callable<Integer> {
    @Option(names = "--tokens", paramLabel = "N,...", split = ",", defaultValue = "1024,8192,32768", description = "Prompt sizes in tokens (default: ${DEFAULT-VALUE}).")
    List<Integer> tokens;

    @Option(names = "--repetitions", paramLabel = "R", defaultValue = "3", description = "Runs per test after one warm-up; the best is kept (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--model", paramLabel = "FILE", description = "A model (e.g. a synthetic qwen2.5-0.5b) for ttft_overhead_512 and ttft_overhead_2048.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Engine threads for the TTFT tests (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--json", description = "Print a JSON array of {\"test\", \"value\", \"unit\"}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        for (int t : tokens) if (t < 1) throw new IllegalArgumentException("--tokens must be >= 1, got " + t);
        KvBench bench = new KvBench(repetitions);
        List<KvBench.Result> results = new ArrayList<>(bench.standard(tokens.stream().mapToInt(Integer::intValue).toArray()));
        if (model != null) {
            try (Model m = Model.load(model, threads)) {
                results.addAll(bench.ttft(m.transformer(), 512));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? KvBench.json(results) : KvBench.table(results));
        out.flush();
        return 0;
    }
}
