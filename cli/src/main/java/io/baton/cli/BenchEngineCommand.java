package io.baton.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.baton.engine.Model;
import io.baton.worker.bench.EngineBench;
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
 * {@code baton bench engine}: prefill and decode tokens/s of the engine with llama-bench's definitions (see
 * {@link EngineBench}), and aggregate decode tokens/s of batches.
 */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = "Engine speed: ppN (prompt of N tokens at once), tgN (N tokens one by one), batchB (B sequences decoding together).")
final class BenchEngineCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Engine threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--prompt", paramLabel = "N,...", split = ",", defaultValue = "512", description = "Prompt lengths (default: ${DEFAULT-VALUE}).")
    List<Integer> prompts;

    @Option(names = "--gen", paramLabel = "N", defaultValue = "128", description = "Tokens to generate for tg, and steps for batch tests (default: ${DEFAULT-VALUE}).")
    int gen;

    @Option(names = "--batch", paramLabel = "B,...", split = ",", description = "Batch sizes for aggregate decode (default: none).")
    List<Integer> batches = List.of();

    @Option(names = "--prefix-hit", paramLabel = "F", description = "Also run each prompt with this fraction (e.g. 0.9) already in the prefix cache (ppN_hitP).")
    Double prefixHit;

    @Option(names = "--repetitions", paramLabel = "R", defaultValue = "5", description = "Measured runs per test, after one warm-up (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = "--roofline", description = "Also measure tg_roof, the decode tokens/s that merely reading the weights allows on these threads, and batch_roof, the batched tokens/s their float32 FMA peak allows, in this run (compare tgN and batchN with them).")
    boolean roofline;

    @Option(names = "--json", description = "Print one JSON array, one object per test.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (repetitions < 1) throw new IllegalArgumentException("--repetitions must be >= 1");
        for (int p : prompts) if (p < 1) throw new IllegalArgumentException("--prompt lengths must be >= 1, got " + p);
        for (int b : batches) if (b < 1) throw new IllegalArgumentException("--batch sizes must be >= 1, got " + b);
        if (gen < 0) throw new IllegalArgumentException("--gen must be >= 0");
        if (prefixHit != null && !(prefixHit > 0 && prefixHit < 1)) throw new IllegalArgumentException("--prefix-hit must be in (0, 1), got " + prefixHit);
        PrintWriter out = spec.commandLine().getOut();
        List<EngineBench.Result> results = new ArrayList<>();
        try (Model m = Model.load(model, threads)) {
            EngineBench bench = new EngineBench(m, model.getFileName().toString(), threads, repetitions);
            if (!json) out.printf("%-28s %-6s %8s %-10s %20s%n", "model", "type", "threads", "test", "t/s");
            for (int p : prompts) {
                report(out, results, bench.prompt(p));
                if (prefixHit != null) report(out, results, bench.prefixHit(p, prefixHit));
            }
            if (gen > 0) report(out, results, bench.generate(gen));
            if (roofline) report(out, results, bench.decodeRoof());
            for (int b : batches) report(out, results, bench.batch(b, Math.max(1, gen)));
            if (roofline && !batches.isEmpty()) report(out, results, bench.batchRoof());
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ArrayNode arr = mapper.createArrayNode();
            for (EngineBench.Result r : results) {
                arr.addObject().put("test", r.test()).put("tokens_per_second", r.tokensPerSecond()).put("stddev", r.stddev())
                        .put("threads", r.threads()).put("model", r.model()).put("type", r.type());
            }
            out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
        }
        out.flush();
        return 0;
    }

    private void report(PrintWriter out, List<EngineBench.Result> results, EngineBench.Result r) {
        results.add(r);
        if (!json) {
            out.printf("%-28s %-6s %8d %-10s %12.2f ± %.2f%n", r.model(), r.type(), r.threads(), r.test(), r.tokensPerSecond(), r.stddev());
            out.flush();
        }
    }
}
