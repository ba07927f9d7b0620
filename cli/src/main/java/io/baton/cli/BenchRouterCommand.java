package io.baton.cli;

import io.baton.bench.router.RouterCpu;
import io.baton.bench.router.RouterOverhead;
import io.baton.router.RouterConfig;
import io.baton.router.bench.ScriptedRouter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code baton bench router}: the router's own overhead per streamed token and how many streams it holds
 * (docs/bench.md). The real router (HTTP front and {@code Router}) runs in front of scripted workers
 * ({@code ScriptedWorkerClient}: no model, tokens on a timer); the client half ({@link RouterOverhead}) matches each
 * token's arrival to its worker hand-over. Where the router runs:
 * <ul>
 *   <li>by default in a child JVM started by this command (optionally pinned with {@code --router-cpus}), so that its
 *       CPU, collector and JIT are its own;</li>
 *   <li>{@code --in-process}: in this JVM (quick looks, tests);</li>
 *   <li>{@code --serve}: only the router, until standard input closes (it prints {@code PORT n}, and answers a line
 *       {@code CPU} with its CPU times); {@code --url} runs only the client against it.</li>
 * </ul>
 */
@Command(name = "router", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measures the router's overhead per streamed token: the real HTTP front and router in front of scripted"
                + " workers (no model), N concurrent streams; reports arrival minus worker hand-over per token, and router CPU.")
public final class BenchRouterCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "FILE", description = "GGUF file for the router's tokenizer, chat template and context length (weights are not read). Required unless --url.")
    Path model;
    @Option(names = "--streams", defaultValue = "1000", description = "Concurrent streams (one request each). Default: ${DEFAULT-VALUE}")
    int streams;
    @Option(names = "--tokens", defaultValue = "100", description = "Tokens per stream. Default: ${DEFAULT-VALUE}")
    int tokens;
    @Option(names = "--itl-ms", defaultValue = "50", description = "Scripted interval between tokens (ms). Default: ${DEFAULT-VALUE}")
    double itlMs;
    @Option(names = "--ttft-ms", defaultValue = "50", description = "Scripted delay to the first token (ms). Default: ${DEFAULT-VALUE}")
    double ttftMs;
    @Option(names = "--ramp", defaultValue = "1", paramLabel = "SECONDS", description = "Stream starts spread evenly over this long. Default: ${DEFAULT-VALUE}")
    double ramp;
    @Option(names = "--workers", defaultValue = "1", description = "Scripted workers (one timer thread each). Default: ${DEFAULT-VALUE}")
    int workers;
    @Option(names = "--batched", description = "Workers hand tokens over in decode steps (every --itl-ms, one token of each running stream in one burst) instead of each stream on its own phase")
    boolean batched;
    @Option(names = "--event-loops", defaultValue = "" + RouterConfig.DEFAULT_EVENT_LOOPS, description = "The router's Vert.x event loops. Default: ${DEFAULT-VALUE}")
    int eventLoops;
    @Option(names = "--prepare-threads", defaultValue = "" + RouterConfig.DEFAULT_PREPARE_THREADS, description = "The router's templating/tokenizing threads. Default: ${DEFAULT-VALUE}")
    int prepareThreads;
    @Option(names = "--max-concurrent-requests", defaultValue = "0", description = "The router's in-flight limit; 0 = max(1024, --streams). Default: ${DEFAULT-VALUE}")
    int maxConcurrent;
    @Option(names = "--client-event-loops", defaultValue = "1", description = "The client's event loops. Default: ${DEFAULT-VALUE}")
    int clientLoops;
    @Option(names = "--warmup", defaultValue = "1", description = "Unmeasured rounds of the same workload first (JIT). Default: ${DEFAULT-VALUE}")
    int warmup;
    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS", description = "A stream fails when no byte arrives for this long. Default: ${DEFAULT-VALUE}")
    double timeout;
    @Option(names = "--router-cpus", paramLabel = "LIST", description = "Pin the router's JVM to these CPUs (taskset -c LIST), e.g. 0. Default: not pinned")
    String routerCpus;
    @Option(names = "--in-process", description = "Run the router in this JVM instead of a child JVM")
    boolean inProcess;
    @Option(names = "--serve", description = "Run only the router (prints PORT n; a line CPU on stdin prints its CPU times; ends when stdin closes)")
    boolean serve;
    @Option(names = "--port", defaultValue = "0", description = "With --serve: the router's port; 0 picks a free one. Default: ${DEFAULT-VALUE}")
    int port;
    @Option(names = "--url", description = "Run only the client, against a router started with --serve (router CPU is then not measured)")
    String url;
    @Option(names = "--json", description = "Print the result as JSON instead of the summary")
    boolean json;
    @Option(names = "--out", paramLabel = "DIR", description = "Also write DIR/result.json")
    Path out;
    @Option(names = "--progress", defaultValue = "auto", description = "auto, bar, lines or off. Default: ${DEFAULT-VALUE}")
    String progress;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        try {
            if (serve) return serve(stdout);
            return measure(stdout, stderr);
        } catch (IllegalArgumentException e) {
            stderr.println("baton bench router: " + e.getMessage());
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            stderr.println("baton bench router: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        }
    }

    private ScriptedRouter.Options routerOptions() {
        if (model == null) throw new IllegalArgumentException("--model FILE is required (the router's tokenizer and chat template)");
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("--model: no such file " + model);
        int limit = maxConcurrent > 0 ? maxConcurrent : Math.max(RouterConfig.DEFAULT_MAX_CONCURRENT_REQUESTS, streams);
        RouterConfig cfg = RouterConfig.defaults().withPort(port).withEventLoops(eventLoops).withPrepareThreads(prepareThreads)
                .withMaxConcurrentRequests(limit);
        return new ScriptedRouter.Options(model, workers, ttftMs, itlMs, batched, cfg);
    }

    /** {@code --serve}: the router alone, driven over standard input and output. */
    private int serve(PrintWriter stdout) throws IOException {
        try (ScriptedRouter router = ScriptedRouter.start(routerOptions())) {
            stdout.println("Scripted router listening on " + router.url());
            stdout.println("PORT " + router.port());
            stdout.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.trim().equals("CPU")) {
                    stdout.println(RouterCpu.sample(Set.of(), true).toLine());
                    stdout.flush();
                }
            }
        }
        return 0;
    }

    private int measure(PrintWriter stdout, PrintWriter stderr) throws Exception {
        RouterOverhead.Options o = new RouterOverhead.Options(streams, tokens, ramp, clientLoops, warmup, timeout);
        if (url != null && (inProcess || routerCpus != null)) throw new IllegalArgumentException("--url runs only the client: drop --in-process and --router-cpus");
        if (inProcess && routerCpus != null) throw new IllegalArgumentException("--router-cpus pins a child JVM: drop --in-process");
        if (out != null) Files.createDirectories(out);
        RouterOverhead.Result r;
        String mode;
        if (url != null) {
            mode = "url";
            r = RouterOverhead.run(url, ScriptedRouter.MODEL_NAME, o, null, 0, stderr, progress);
        } else if (inProcess) {
            mode = "in-process";
            // The router logs a line per finished request; in this JVM that would flood the benchmark's own output.
            Logger routerLog = Logger.getLogger("io.baton.router");
            Level was = routerLog.getLevel();
            routerLog.setLevel(Level.WARNING);
            try (ScriptedRouter router = ScriptedRouter.start(routerOptions())) {
                r = RouterOverhead.run(router.url(), ScriptedRouter.MODEL_NAME, o, client -> RouterCpu.sample(client, false), eventLoops, stderr, progress);
            } finally {
                routerLog.setLevel(was);
            }
        } else {
            mode = "child-process";
            try (RouterProcess router = RouterProcess.start(routerOptions(), routerCpus)) {
                r = RouterOverhead.run(router.url(), ScriptedRouter.MODEL_NAME, o, client -> router.cpu(), eventLoops, stderr, progress);
            }
        }
        Map<String, Object> config = config(mode);
        if (json) {
            RouterOverhead.writeJson(r, config, stdout);
        } else {
            RouterOverhead.print(r, stdout);
        }
        if (out != null) {
            Path file = out.resolve("result.json");
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                RouterOverhead.writeJson(r, config, w);
            }
            if (!json) stdout.println("Wrote " + file);
        }
        stdout.flush();
        if (r.failed() > 0) {
            stderr.println("baton bench router: " + r.failed() + " of " + streams + " streams failed " + r.errors());
            return 1;
        }
        return 0;
    }

    private Map<String, Object> config(String mode) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("mode", mode);
        c.put("model", model == null ? null : model.toString());
        c.put("streams", streams);
        c.put("tokens", tokens);
        c.put("itl_ms", itlMs);
        c.put("ttft_ms", ttftMs);
        c.put("ramp_s", ramp);
        c.put("workers", workers);
        c.put("batched", batched);
        c.put("router_event_loops", eventLoops);
        c.put("prepare_threads", prepareThreads);
        c.put("client_event_loops", clientLoops);
        c.put("warmup_rounds", warmup);
        c.put("router_cpus", routerCpus);
        return c;
    }
}
