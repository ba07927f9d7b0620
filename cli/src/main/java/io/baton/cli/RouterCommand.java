package io.baton.cli;

import io.baton.rpc.ClusterRouter;
import io.baton.rpc.GrpcWorkerClient;
import io.baton.rpc.WorkerEndpoint;
import io.baton.router.DisaggregatedFlow;
import io.baton.router.RouterConfig;
import io.baton.router.RoutingPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
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

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = RouterConfig.DEFAULT_HOST, description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + RouterConfig.DEFAULT_PORT, description = "HTTP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "cache-aware", description = "Routing policy: cache-aware, least-loaded or round-robin (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--disaggregation-threshold", paramLabel = "TOKENS", defaultValue = "" + DisaggregatedFlow.DEFAULT_MIN_PROMPT_TOKENS,
            description = "Prompts shorter than this skip the prefill worker and are prefilled by the decode worker (default: ${DEFAULT-VALUE}).")
    int minPromptTokens;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "The model id clients use (default: the file name without .gguf).")
    String servedName;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "A Jinja chat template replacing the model's own (for models without one).")
    Path chatTemplate;

    @Option(names = "--max-body-size", paramLabel = "SIZE", description = "Largest request body; larger ones get 413 (default: 4M).")
    String maxBody;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "0", description = "Longest prompt in tokens; 0 = the context length minus one (default: ${DEFAULT-VALUE}).")
    int maxPromptTokens;

    @Option(names = "--max-concurrent-requests", paramLabel = "N", defaultValue = "" + RouterConfig.DEFAULT_MAX_CONCURRENT_REQUESTS,
            description = "Requests in flight at once; more get 429 (default: ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--ttft-slo", paramLabel = "SECONDS", defaultValue = "" + RouterConfig.DEFAULT_TTFT_SLO_SECONDS,
            description = "Time-to-first-token objective for admission control (default: ${DEFAULT-VALUE}).")
    double ttftSlo;

    @Option(names = "--admission-factor", paramLabel = "F", defaultValue = "" + RouterConfig.DEFAULT_ADMISSION_FACTOR,
            description = "Refuse (429) requests predicted to wait longer than the TTFT objective × F (default: ${DEFAULT-VALUE}).")
    double admissionFactor;

    @Option(names = "--prepare-threads", paramLabel = "N", defaultValue = "" + RouterConfig.DEFAULT_PREPARE_THREADS,
            description = "Threads that template and tokenize requests (default: ${DEFAULT-VALUE}).")
    int prepareThreads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!RoutingPolicy.NAMES.contains(policy)) {
            throw new IllegalArgumentException("unknown --policy '" + policy + "' (expected one of " + String.join(", ", RoutingPolicy.NAMES) + ")");
        }
        List<WorkerEndpoint> list = new ArrayList<>();
        if (workers != null) {
            for (String w : workers.split(",")) if (!w.isBlank()) list.add(WorkerCommand.parse(w, "--workers"));
        }
        if (list.isEmpty() && grpcPort == null) {
            throw new IllegalArgumentException("no workers: give --workers HOST:PORT,... or --grpc-port PORT for workers started with --router");
        }
        Duration timeout = parseDuration(workerTimeout, "--worker-timeout");
        String template = null;
        if (chatTemplate != null) {
            try {
                template = Files.readString(chatTemplate);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read chat template " + chatTemplate + ": " + e.getMessage(), e);
            }
        }
        RouterConfig cfg = new RouterConfig(host, port, maxBody == null ? RouterConfig.DEFAULT_MAX_BODY_BYTES : ServeCommand.parseSize(maxBody, "--max-body-size"),
                maxPromptTokens, maxConcurrent, ttftSlo, admissionFactor, 0, prepareThreads, RouterConfig.DEFAULT_EVENT_LOOPS, policy);
        ClusterRouter router = ClusterRouter.start(new ClusterRouter.Options(model, servedName, template, cfg, minPromptTokens, list,
                grpcPort == null ? -1 : grpcPort, timeout));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            router.close();
            stopped.countDown();
        }, "baton-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("Baton router listening on " + router.url());
        if (router.registryPort() >= 0) out.println("Workers announce to " + new WorkerEndpoint(host, router.registryPort()));
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
