package io.baton.bench;

import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.StreamClient;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.fake.ScriptedServer;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.baton.bench.run.BenchRunner;
import io.baton.bench.run.ClientStats;
import io.baton.bench.run.Progress;
import io.baton.bench.run.RunResult;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code baton bench calibrate}: measures the client's own overhead. An in-process {@link ScriptedServer} streams
 * {@code streams} concurrent responses of {@code tokens} tokens {@code itl} apart and records when it wrote each token;
 * the client, on {@code clientLoops} event loops, records when each arrived (same clock: one JVM's
 * {@code System.nanoTime()}). Two numbers per token follow:
 * <ul>
 *   <li>lateness: client arrival minus server write (loopback transit plus client queueing);</li>
 *   <li>ITL distortion: client-observed gap minus the server's actual gap, i.e. how much the tool changes an ITL.</li>
 * </ul>
 * Streams start staggered over one ITL (as continuous batching spreads them) unless {@code aligned}, where every
 * stream's token is written in the same millisecond (the worst case: one decode step feeding every stream at once).
 */
public final class Calibration {
    private Calibration() {}

    public record Result(int streams, int tokens, double itlMillis, int clientLoops, int serverLoops, boolean aligned,
                         int completed, Map<String, Integer> errors, double duration, Distribution lateness,
                         Distribution distortion, Distribution absDistortion, ClientStats client) {}

    /** Runs {@code warmups} rounds of {@link io.baton.bench.run.ClientWarmup} first, then the measured round. */
    public static Result run(int streams, int tokens, double itlMillis, double ttftMillis, int serverLoops, int clientLoops,
                             boolean aligned, int warmups, PrintWriter err, String progress) throws InterruptedException {
        for (int w = 0; w < warmups; w++) io.baton.bench.run.ClientWarmup.run(clientLoops);
        return once(streams, tokens, itlMillis, ttftMillis, serverLoops, clientLoops, aligned, err, progress);
    }

    static Result once(int streams, int tokens, double itlMillis, double ttftMillis, int serverLoops, int clientLoops,
                       boolean aligned, PrintWriter err, String progress) throws InterruptedException {
        if (streams < 1 || tokens < 2 || !(itlMillis > 0) || ttftMillis < 0) {
            throw new IllegalArgumentException("calibrate needs --streams >= 1, --tokens >= 2, --itl-ms > 0, --ttft-ms >= 0");
        }
        try (ScriptedServer server = ScriptedServer.start(serverLoops, i -> ScriptedServer.Script.stream(
                ttftMillis + (aligned ? 0 : (double) (i % streams) * itlMillis / streams), itlMillis, tokens));
             StreamClient client = new StreamClient(server.url(), Endpoint.CHAT, clientLoops, streams + 1, Map.of(), 60)) {
            List<BenchRequest> reqs = new ArrayList<>(streams);
            for (int i = 0; i < streams; i++) reqs.add(BenchRequest.of(i, "calibrate", 1, tokens));
            RequestBodies bodies = new RequestBodies(Endpoint.CHAT, "calibrate", true, null, null);
            RunResult run;
            try (Progress p = new Progress(err, streams, "calibrate", progress)) {
                run = BenchRunner.run(client, bodies, Endpoint.CHAT, reqs, new double[streams], Double.POSITIVE_INFINITY, 0, 0, "cal", p);
            }
            List<Double> late = new ArrayList<>(), dist = new ArrayList<>();
            Map<String, Integer> errors = new TreeMap<>();
            int completed = 0;
            for (RequestResult r : run.results()) {
                if (!r.ok()) {
                    errors.merge(r.errorCode(), 1, Integer::sum);
                    continue;
                }
                completed++;
                ScriptedServer.Served s = server.served().get("cal-" + r.index());
                long[] w = s.tokenNanos();
                double[] c = r.tokenTimes();
                int k = Math.min(w.length, c.length);
                for (int j = 0; j < k; j++) {
                    double arrival = run.t0Nanos() + c[j] * 1e9;
                    late.add((arrival - w[j]) / 1e9);
                    if (j > 0) dist.add(((c[j] - c[j - 1]) * 1e9 - (w[j] - w[j - 1])) / 1e9);
                }
            }
            double[] ps = {50, 90, 99, 99.9};
            double[] d = dist.stream().mapToDouble(Double::doubleValue).toArray();
            return new Result(streams, tokens, itlMillis, clientLoops, serverLoops, aligned, completed, errors, run.duration(),
                    Distribution.of(late.stream().mapToDouble(Double::doubleValue).toArray(), ps), Distribution.of(d, ps),
                    Distribution.of(java.util.Arrays.stream(d).map(Math::abs).toArray(), ps), run.client());
        }
    }

    public static void print(Result r, PrintWriter out) {
        out.printf(Locale.ROOT, "Client calibration: %d concurrent streams x %d tokens, ITL %.1f ms, %s, client event loops %d, server event loops %d%n",
                r.streams(), r.tokens(), r.itlMillis(), r.aligned() ? "aligned" : "staggered", r.clientLoops(), r.serverLoops());
        out.printf(Locale.ROOT, "  completed %d/%d%s in %.2f s, %d events%n", r.completed(), r.streams(),
                r.errors().isEmpty() ? "" : " errors " + r.errors(), r.duration(), r.client().events());
        line(out, "lateness (arrival - server write)", r.lateness());
        line(out, "ITL distortion (client gap - server gap)", r.distortion());
        line(out, "|ITL distortion|", r.absDistortion());
        out.printf(Locale.ROOT, "  event-loop lag: p99 %.3f ms, max %.3f ms; event-loop CPU %.2f us/event, utilization %.1f %%%n",
                r.client().loopLag().p(99) * 1e3, r.client().loopLag().max() * 1e3, r.client().cpuMicrosPerEvent(),
                r.client().loopUtilization() * 100);
        out.printf(Locale.ROOT, "  verdict: p99 |ITL distortion| %.3f ms %s 1 ms%n", r.absDistortion().p(99) * 1e3,
                r.absDistortion().p(99) <= 0.001 ? "<=" : ">");
    }

    private static void line(PrintWriter out, String name, Distribution d) {
        out.printf(Locale.ROOT, "  %-42s mean %7.3f  p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  max %7.3f ms%n", name,
                d.mean() * 1e3, d.p(50) * 1e3, d.p(90) * 1e3, d.p(99) * 1e3, d.p(99.9) * 1e3, d.max() * 1e3);
    }
}
