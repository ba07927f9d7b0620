package io.baton.cli;


import io.baton.router.EmbeddedServer;
import io.baton.router.RouterConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code baton serve}: the OpenAI-compatible server in one process (docs/serving.md). For now the router and one
 * colocated worker; prints {@code Baton listening on URL} once it accepts connections, and runs until interrupted.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve a model over the OpenAI-compatible HTTP API (embedded router + worker).")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "disaggregated",
            description = "disaggregated (a prefill and a decode worker, KV handed over in-process) or colocated (one worker) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = {"--prefill-threads", "--threads"}, paramLabel = "N",
            description = "Engine threads of the prefill worker, or of the colocated worker (default: half the cores, all in colocated mode).")
    Integer threads;

    @Option(names = "--decode-threads", paramLabel = "N", description = "Engine threads of the decode worker (default: the other half of the cores).")
    Integer decodeThreads;

    @Option(names = "--kv-memory", paramLabel = "SIZE", description = "KV cache memory, e.g. 512M or 2G (default: 1G, or less when a full batch of full contexts needs less).")
    String kvMemory;

    @Mixin
    RouterOptions router;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        EmbeddedServer.Mode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "disaggregated", "pd" -> EmbeddedServer.Mode.DISAGGREGATED;
            case "colocated" -> EmbeddedServer.Mode.COLOCATED;
            default -> throw new IllegalArgumentException("unknown --mode '" + mode + "' (expected disaggregated or colocated)");
        };
        int cores = Runtime.getRuntime().availableProcessors();
        // Two engines on the same cores fight: by default each worker gets its own share.
        if (threads == null) threads = m == EmbeddedServer.Mode.COLOCATED ? cores : Math.max(1, cores / 2);
        if (decodeThreads == null) decodeThreads = Math.max(1, cores - threads);
        if (threads < 1) throw new IllegalArgumentException("--prefill-threads must be >= 1, got " + threads);
        if (decodeThreads < 1) throw new IllegalArgumentException("--decode-threads must be >= 1, got " + decodeThreads);
        RouterConfig cfg = router.config();
        long kv = kvMemory == null ? 0 : parseSize(kvMemory, "--kv-memory");
        EmbeddedServer server = EmbeddedServer.start(model, threads, new EmbeddedServer.Options(router.servedName, router.chatTemplateText(), kv, cfg, m, decodeThreads, router.minPromptTokens()));
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "baton-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        PrintWriter out = spec.commandLine().getOut();
        if (server.disaggregationThreshold() >= 0) {
            out.println("Conditional disaggregation: prompts under " + server.disaggregationThreshold()
                    + " tokens are prefilled by the decode worker (--disaggregation-threshold)");
        }
        out.println("Baton listening on " + server.url());
        out.flush();
        stopped.await();
        return 0;
    }

    /** "512M", "2G", "64k", "1048576": binary units (K = 1024), an optional trailing B or iB. */
    static long parseSize(String s, String option) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) t = t.substring(0, t.length() - 2);
        else if (t.endsWith("B")) t = t.substring(0, t.length() - 1);
        long unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> { }
            }
        }
        if (unit > 1) t = t.substring(0, t.length() - 1);
        try {
            long v = Long.parseLong(t.trim());
            if (v <= 0) throw new NumberFormatException();
            return Math.multiplyExact(v, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(option + " must be a positive size like 512M or 2G, got '" + s + "'");
        }
    }
}
