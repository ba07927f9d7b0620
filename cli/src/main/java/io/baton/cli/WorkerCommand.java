package io.baton.cli;

import io.baton.rpc.WorkerEndpoint;
import io.baton.rpc.WorkerNode;
import io.baton.worker.scheduler.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code baton worker}: one engine in one role as its own process, for {@code baton router} (docs/serving.md,
 * "Multi-process mode"). Prints {@code Baton worker (ROLE) listening on HOST:PORT} once it takes requests, and runs
 * until interrupted.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Run a prefill, decode or colocated worker for a router (control over gRPC, KV over TCP).")
final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--role", required = true, paramLabel = "ROLE", description = "prefill, decode or colocated.")
    String role;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file (the same as the router's).")
    Path model;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address of the control RPC and the KV port; routers and prefill workers dial it, so give one they reach (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "0", description = "Control RPC port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--kv-port", paramLabel = "PORT", defaultValue = "0",
            description = "KV data-plane port of a decode worker; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int kvPort;

    @Option(names = "--threads", paramLabel = "N", description = "Engine threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--kv-memory", paramLabel = "SIZE", description = "KV cache memory, e.g. 512M or 2G (default: 1G, or less when a full batch of full contexts needs less).")
    String kvMemory;

    @Option(names = "--router", paramLabel = "HOST:PORT",
            description = "Announce this worker to the router's registration port (its --grpc-port) and keep announcing.")
    String router;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Role r = switch (role.toLowerCase(Locale.ROOT)) {
            case "prefill" -> Role.PREFILL;
            case "decode" -> Role.DECODE;
            case "colocated" -> Role.COLOCATED;
            default -> throw new IllegalArgumentException("unknown --role '" + role + "' (expected prefill, decode or colocated)");
        };
        WorkerEndpoint routerAt = router == null ? null : parse(router, "--router");
        long kv = kvMemory == null ? 0 : ServeCommand.parseSize(kvMemory, "--kv-memory");
        WorkerNode node = WorkerNode.start(new WorkerNode.Options(model, r, host, port, kvPort, threads, kv, routerAt));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "baton-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("Baton worker (" + r.name().toLowerCase(Locale.ROOT) + ") listening on " + node.endpoint());
        out.flush();
        stopped.await();
        return 0;
    }

    static WorkerEndpoint parse(String s, String option) {
        try {
            return WorkerEndpoint.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }
}
