package io.baton.bench.run;

import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.StreamClient;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.fake.ScriptedServer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Warms the client's code before a measurement, without touching the server under test: a short burst of streams
 * from an in-process {@link ScriptedServer} through the same classes (HTTP client, capture, decoder). Until the JIT
 * has compiled them, the event loop spends tens of microseconds per event instead of a few, and a burst of tokens
 * written at once (one decode step of a batch) would be timestamped up to milliseconds late. About 40,000 events,
 * well past the JIT's compile thresholds, then {@value #SHORT_REQUESTS} short requests per endpoint; it takes a few
 * seconds.
 */
public final class ClientWarmup {
    private static final int STREAMS = 200, TOKENS = 50;
    /**
     * Short requests per endpoint (2 tokens each, {@value #STREAMS} at a time) after the long streams: the per-request
     * path (request body, headers, connection pool, response start) runs once per request, and the streams alone give
     * it too few calls for C2 (tier 4 needs ~5,000 invocations; both endpoints share the path). A measured round that
     * starts 1,000 requests at once then recompiled that path inside the round: ~290 compilations in its first second
     * on one core, about half of the round's compilations.
     */
    private static final int SHORT_REQUESTS = 3000;

    private ClientWarmup() {}

    /** Quiet periods {@link #awaitJitQuiet} waits for: this many polls in a row without compilation. */
    private static final int QUIET_POLLS = 2;
    private static final long POLL_MILLIS = 200;

    /**
     * Waits until the JIT compilers have been idle for {@value #QUIET_POLLS} polls {@value #POLL_MILLIS} ms apart, at
     * most {@code maxMillis}. A warm-up queues more compilations than the compiler threads finish during it, above all
     * where the client has one core: they would otherwise run inside the measured round, on the event loop's core.
     *
     * @return milliseconds waited
     */
    public static long awaitJitQuiet(long maxMillis) throws InterruptedException {
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        long t0 = System.nanoTime(), deadline = t0 + maxMillis * 1_000_000;
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return 0;
        int quiet = 0;
        long last = jit.getTotalCompilationTime();
        while (quiet < QUIET_POLLS && System.nanoTime() < deadline) {
            Thread.sleep(POLL_MILLIS);
            long now = jit.getTotalCompilationTime();
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    public static void run(int eventLoops) throws InterruptedException {
        try (ScriptedServer server = ScriptedServer.start(1, i -> ScriptedServer.Script.stream(5 + i % 5, 1, TOKENS));
             ScriptedServer shortServer = ScriptedServer.start(1, i -> ScriptedServer.Script.stream(1, 1, 2))) {
            for (Endpoint ep : Endpoint.values()) {
                for (int round = 0; round < 2; round++) streams(server, ep, eventLoops, STREAMS, TOKENS, "warm" + round);
                streams(shortServer, ep, eventLoops, SHORT_REQUESTS, 2, "warm-short");
            }
        }
    }

    /** {@code n} requests of {@code tokens} tokens each, at most {@value #STREAMS} at a time, all sent at once. */
    private static void streams(ScriptedServer server, Endpoint ep, int eventLoops, int n, int tokens, String runId)
            throws InterruptedException {
        try (StreamClient client = new StreamClient(server.url(), ep, eventLoops, STREAMS + 1, Map.of(), 30)) {
            List<BenchRequest> reqs = new ArrayList<>();
            for (int i = 0; i < n; i++) reqs.add(BenchRequest.of(i, "warm up", 2, tokens));
            BenchRunner.run(client, new RequestBodies(ep, "warmup", true, null, null), ep, reqs, new double[n],
                    Double.POSITIVE_INFINITY, STREAMS, 0, runId, Progress.off(n));
        }
    }
}
