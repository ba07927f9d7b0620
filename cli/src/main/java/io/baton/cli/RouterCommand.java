package io.baton.cli;

import io.baton.rpc.ClusterRouter;
import io.baton.rpc.GrpcWorkerClient;
import io.baton.rpc.WorkerEndpoint;
import io.baton.router.RouterConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code baton router}: the OpenAI-compatible API in front of {@code baton worker} processes (docs/serving.md,
 * "Multi-process mode"). Prints {@code Baton router listening on URL} (and, with {@code --grpc-port}, where workers
 * announce themselves) once it accepts connections, and runs until interrupted.
 */
@Command(name = "router", mixinStandardHelpOptions = true,
        description = "Serve the OpenAI-compatible API in front of worker processes (baton worker).")
final class RouterCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "The workers' GGUF file: the router reads its tokenizer, chat template and context length (not the weights).")
    Path model;

    @Option(names = "--workers", paramLabel = "HOST:PORT,...", description = "Workers' control addresses (as each printed them).")
    String workers;

    @Option(names = "--grpc-port", paramLabel = "PORT",
            description = "Port where workers started with --router announce themselves; 0 picks a free one (default: none).")
    Integer grpcPort;

    @Option(names = "--worker-timeout", paramLabel = "DURATION", defaultValue = "3s",
            description = "Drop a worker that has not answered (or announced itself) for this long, e.g. 3s or 500ms (default: ${DEFAULT-VALUE}).")
    String workerTimeout;

    @Mixin
    RouterOptions router;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        RouterConfig cfg = router.config();
        List<WorkerEndpoint> list = new ArrayList<>();
        if (workers != null) {
            for (String w : workers.split(",")) if (!w.isBlank()) list.add(WorkerCommand.parse(w, "--workers"));
        }
        if (list.isEmpty() && grpcPort == null) {
            throw new IllegalArgumentException("no workers: give --workers HOST:PORT,... or --grpc-port PORT for workers started with --router");
        }
        Duration timeout = parseDuration(workerTimeout, "--worker-timeout");
        ClusterRouter cluster = ClusterRouter.start(new ClusterRouter.Options(model, router.servedName, router.chatTemplateText(), cfg, router.minPromptTokens(), list,
                grpcPort == null ? -1 : grpcPort, timeout));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            cluster.close();
            stopped.countDown();
        }, "baton-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("Baton router listening on " + cluster.url());
        if (cluster.registryPort() >= 0) out.println("Workers announce to " + new WorkerEndpoint(router.host, cluster.registryPort()));
        out.flush();
        stopped.await();
        return 0;
    }

    /** "3s", "500ms", "2m", or plain seconds ("1.5"). */
    static Duration parseDuration(String s, String option) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        double unitMillis = 1000;
        if (t.endsWith("ms")) {
            unitMillis = 1;
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            t = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            unitMillis = 60_000;
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t.trim());
            long millis = Math.round(v * unitMillis);
            if (!(v > 0) || millis < 1 || Double.isInfinite(v)) throw new NumberFormatException();
            return Duration.ofMillis(millis);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a positive duration like 3s or 500ms, got '" + s + "'");
        }
    }
}
