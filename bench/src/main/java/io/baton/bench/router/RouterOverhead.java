package io.baton.bench.router;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.StreamClient;
import io.baton.bench.client.StreamOutcome;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.report.ResultJson;
import io.baton.bench.run.BenchRunner;
import io.baton.bench.run.ClientStats;
import io.baton.bench.run.Progress;
import io.baton.bench.run.RunResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The client half of {@code baton bench router} (docs/bench.md): opens {@code streams} concurrent streamed chat
 * completions against a router whose workers are scripted (the router module's {@code ScriptedWorkerClient}), through
 * the same client as {@code baton bench serve} ({@link StreamClient}, {@link BenchRunner}, texts kept by the SSE
 * decoder), and matches every arriving token to the moment its worker handed it to the router, which the token's text
 * carries ({@link TokenStamp}). The router's overhead per token is the difference: arrival − hand-over, both
 * {@link System#nanoTime()} (CLOCK_MONOTONIC on Linux, one clock for every process of a host, so the router may run in
 * another process of the same machine).
 */
public final class RouterOverhead {
    public static final double[] PERCENTILES = {50, 90, 99, 99.9};
    /** The chat message every stream sends (a short question; the router templates and tokenizes it as usual). */
    static final String PROMPT = "Explain in a few sentences how a router streams tokens from a model server to many clients at once.";

    private RouterOverhead() {}

    /**
     * @param streams      concurrent streams, one request each
     * @param tokens       tokens per stream ({@code max_tokens}; scripted workers always produce exactly that many)
     * @param rampSeconds  stream {@code i} starts at {@code rampSeconds * i / streams}: starts spread over the ramp
     *                     give the streams different token phases, as requests joining a decode batch at different
     *                     times have
     * @param clientLoops  the client's event loops
     * @param warmupRounds unmeasured rounds of the same workload first (the JIT compiles both sides meanwhile)
     * @param timeoutSec   a stream fails with {@code timeout} when no byte arrives for this long
     */
    public record Options(int streams, int tokens, double rampSeconds, int clientLoops, int warmupRounds, double timeoutSec) {
        public Options {
            if (streams < 1) throw new IllegalArgumentException("--streams must be >= 1, got " + streams);
            if (tokens < 1) throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
            if (!(rampSeconds >= 0) || Double.isInfinite(rampSeconds)) throw new IllegalArgumentException("--ramp must be >= 0 seconds, got " + rampSeconds);
            if (clientLoops < 1) throw new IllegalArgumentException("--client-event-loops must be >= 1, got " + clientLoops);
            if (warmupRounds < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmupRounds);
            if (!(timeoutSec > 0)) throw new IllegalArgumentException("--timeout must be > 0 seconds, got " + timeoutSec);
        }
    }

    /** Takes a {@link RouterCpu} sample of the router's process. */
    @FunctionalInterface
    public interface CpuProbe {
        /** @param clientThreads the ids of the client's event-loop threads (not the router's, when in the same JVM) */
        RouterCpu sample(Set<Long> clientThreads) throws IOException;
    }

    /**
     * The router's CPU over the measured round.
     *
     * @param routerMicrosPerToken  the router's threads (event loops, prepare pool, workers) per matched token
     * @param processMicrosPerToken the router's whole process per matched token; NaN when not measured
     * @param eventLoopUtilization  event-loop CPU over the round's duration, per event loop (1.0 = one core saturated)
     */
    public record Cpu(RouterCpu used, int eventLoops, double routerMicrosPerToken, double processMicrosPerToken,
                      double eventLoopUtilization) {}

    /**
     * @param errors         failed streams by code: the client's ({@code http_429}, {@code timeout}, ...) and the
     *                       matching's ({@code token_count}, {@code unreadable_token}, {@code mixed_requests},
     *                       {@code out_of_order}, {@code duplicate_request}, {@code usage_mismatch},
     *                       {@code clock_mismatch})
     * @param firstError     the message of one failure, or null
     * @param tokensExpected streams × tokens
     * @param tokensMatched  tokens of completed streams, each matched to its hand-over time
     * @param duration       seconds from the round's start to its last stream's end
     * @param overhead       per token, arrival minus hand-over (s)
     * @param cpu            null when the router's CPU could not be read (a router started by someone else)
     */
    public record Result(Options options, String url, int completed, int failed, Map<String, Integer> errors, String firstError,
                         long tokensExpected, long tokensMatched, double duration, double tokensPerSecond,
                         Distribution overhead, Cpu cpu, ClientStats client) {}

    /**
     * Checks the router with one short stream, runs the warm-up rounds, then the measured round.
     *
     * @param model            the model id to send
     * @param cpu              reads the router's CPU before and after the measured round; null to skip
     * @param routerEventLoops the router's event loops (for their utilization), 0 when unknown
     * @throws IllegalStateException when the check stream fails or cannot be matched (the router is not a scripted one)
     */
    public static Result run(String url, String model, Options o, CpuProbe cpu, int routerEventLoops, PrintWriter err, String progress)
            throws InterruptedException, IOException {
        RequestBodies bodies = new RequestBodies(Endpoint.CHAT, model, true, null, null);
        try (StreamClient client = new StreamClient(url, Endpoint.CHAT, o.clientLoops(), o.streams() + 1, Map.of(), o.timeoutSec())) {
            Round check = round(client, bodies, 1, 2, 0, "rb-check", Progress.off(1));
            if (check.failed() > 0) {
                throw new IllegalStateException("the check stream to " + client.url() + " failed: " + check.errors().keySet().iterator().next()
                        + (check.firstError() == null ? "" : " (" + check.firstError() + ")"));
            }
            for (int w = 0; w < o.warmupRounds(); w++) {
                try (Progress p = new Progress(err, o.streams(), "warm-up " + (w + 1) + "/" + o.warmupRounds(), progress)) {
                    round(client, bodies, o.streams(), o.tokens(), o.rampSeconds(), "rb-warm" + w, p);
                }
            }
            Set<Long> clientThreads = new HashSet<>();
            for (long id : client.loopThreadIds()) clientThreads.add(id);
            RouterCpu before = cpu == null ? null : cpu.sample(clientThreads);
            Round r;
            try (Progress p = new Progress(err, o.streams(), "router", progress)) {
                r = round(client, bodies, o.streams(), o.tokens(), o.rampSeconds(), "rb", p);
            }
            RouterCpu used = cpu == null ? null : cpu.sample(clientThreads).minus(before);
            double duration = r.run().duration();
            Cpu c = used == null ? null : new Cpu(used, routerEventLoops,
                    r.matched() == 0 ? Double.NaN : used.routerThreadsNanos() / 1e3 / r.matched(),
                    r.matched() == 0 || used.processNanos() < 0 ? Double.NaN : used.processNanos() / 1e3 / r.matched(),
                    routerEventLoops < 1 || !(duration > 0) ? Double.NaN : used.eventLoopNanos() / 1e9 / duration / routerEventLoops);
            return new Result(o, client.url(), o.streams() - r.failed(), r.failed(), r.errors(), r.firstError(),
                    (long) o.streams() * o.tokens(), r.matched(), duration, duration > 0 ? r.matched() / duration : Double.NaN,
                    Distribution.of(r.overhead(), PERCENTILES), c, r.run().client());
        }
    }

    /** One round: its run, and the matching of every stream's tokens. */
    record Round(RunResult run, int failed, Map<String, Integer> errors, String firstError, long matched, double[] overhead) {}

    private static Round round(StreamClient client, RequestBodies bodies, int streams, int tokens, double ramp, String runId,
                               Progress progress) throws InterruptedException {
        List<BenchRequest> reqs = new ArrayList<>(streams);
        double[] offsets = new double[streams];
        for (int i = 0; i < streams; i++) {
            reqs.add(BenchRequest.of(i, PROMPT, 0, tokens));
            offsets[i] = ramp * i / streams;
        }
        StreamOutcome[] outcomes = new StreamOutcome[streams];
        double rate = ramp > 0 ? streams / ramp : Double.POSITIVE_INFINITY;
        // The listener runs on the decoder thread; run() returns after that thread has ended, so the array is complete.
        RunResult run = BenchRunner.run(client, bodies, Endpoint.CHAT, reqs, offsets, rate, 0, 0, runId, progress,
                (i, out) -> outcomes[i] = out);
        return match(run, outcomes, tokens);
    }

    /** Matches the tokens of every stream of a round to their hand-over times; a stream that does not match fails. */
    static Round match(RunResult run, StreamOutcome[] outcomes, int tokens) {
        Map<String, Integer> errors = new TreeMap<>();
        String firstError = null;
        Set<Long> seen = new HashSet<>();
        List<double[]> perStream = new ArrayList<>();
        long matched = 0;
        int failed = 0;
        for (StreamOutcome o : outcomes) {
            String[] problem = o == null ? new String[]{"client_error", "no outcome decoded"}
                    : !o.ok() ? new String[]{o.errorCode(), o.errorMessage()} : null;
            double[] overhead = null;
            if (problem == null) {
                overhead = new double[o.tokenNanos().length];
                problem = check(o, tokens, seen, overhead);
            }
            if (problem != null) {
                failed++;
                errors.merge(problem[0], 1, Integer::sum);
                if (firstError == null) firstError = problem[0] + ": " + problem[1];
                continue;
            }
            perStream.add(overhead);
            matched += overhead.length;
        }
        double[] all = new double[(int) matched];
        int at = 0;
        for (double[] d : perStream) {
            System.arraycopy(d, 0, all, at, d.length);
            at += d.length;
        }
        return new Round(run, failed, errors, firstError, matched, all);
    }

    /** Fills {@code overhead} (s) for a completed stream; returns {code, message} when its tokens do not match. */
    private static String[] check(StreamOutcome o, int tokens, Set<Long> seen, double[] overhead) {
        long[] arrival = o.tokenNanos();
        String[] text = o.tokenTexts();
        if (arrival.length != tokens) return new String[]{"token_count", "expected " + tokens + " tokens, got " + arrival.length};
        if (o.completionTokens() >= 0 && o.completionTokens() != tokens) {
            return new String[]{"usage_mismatch", "usage.completion_tokens = " + o.completionTokens() + ", expected " + tokens};
        }
        long seq = -1;
        for (int k = 0; k < tokens; k++) {
            TokenStamp s = TokenStamp.parse(text[k]);
            if (s == null) return new String[]{"unreadable_token", "token " + k + " is not SEQ:K:NANOS; but '" + abbreviate(text[k]) + "'"};
            if (k == 0) seq = s.seq();
            else if (s.seq() != seq) return new String[]{"mixed_requests", "token " + k + " belongs to request " + s.seq() + ", not " + seq};
            if (s.index() != k) return new String[]{"out_of_order", "token " + k + " says it is token " + s.index()};
            long d = arrival[k] - s.emitNanos();
            if (d < 0) {
                return new String[]{"clock_mismatch", "token " + k + " arrived " + (-d) + " ns before it was handed over:"
                        + " the router's System.nanoTime is not this process's clock (run it on this host)"};
            }
            overhead[k] = d / 1e9;
        }
        if (!seen.add(seq)) return new String[]{"duplicate_request", "request " + seq + " streamed to two clients"};
        return null;
    }

    private static String abbreviate(String s) {
        return s == null ? "null" : s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }

    // ---- output ----

    public static void print(Result r, PrintWriter out) {
        Options o = r.options();
        out.printf(Locale.ROOT, "Router overhead: %d concurrent streams x %d tokens, ramp %.2f s, against %s%n",
                o.streams(), o.tokens(), o.rampSeconds(), r.url());
        out.printf(Locale.ROOT, "  streams: %d completed, %d failed%s%n", r.completed(), r.failed(),
                r.errors().isEmpty() ? "" : " " + r.errors() + (r.firstError() == null ? "" : "; first: " + r.firstError()));
        out.printf(Locale.ROOT, "  tokens: %d of %d matched to their hand-over; %.2f s, %.0f tokens/s%n",
                r.tokensMatched(), r.tokensExpected(), r.duration(), r.tokensPerSecond());
        Distribution d = r.overhead();
        out.printf(Locale.ROOT, "  overhead per token (arrival - worker hand-over): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f ms%n",
                d.p(50) * 1e3, d.p(90) * 1e3, d.p(99) * 1e3, d.p(99.9) * 1e3, d.max() * 1e3, d.mean() * 1e3);
        Cpu c = r.cpu();
        if (c == null) {
            out.println("  router CPU: not measured (router not started by this command)");
        } else {
            RouterCpu u = c.used();
            out.printf(Locale.ROOT, "  router CPU: %.2f us/token in its threads (event loops %.2f s, prepare %.2f s, workers %.2f s)%s%n",
                    c.routerMicrosPerToken(), u.eventLoopNanos() / 1e9, u.prepareNanos() / 1e9, u.workerNanos() / 1e9,
                    u.processNanos() < 0 ? "" : String.format(Locale.ROOT, "; whole process %.2f us/token (%.2f s, GC and JIT included)",
                            c.processMicrosPerToken(), u.processNanos() / 1e9));
            out.printf(Locale.ROOT, "  router event loops: %d, utilization %.1f %%%n", c.eventLoops(), c.eventLoopUtilization() * 100);
        }
        ClientStats cl = r.client();
        out.printf(Locale.ROOT, "  client: %d event loop(s), utilization %.1f %%, loop lag p99 %.3f ms (high values mean the client, not the router, is late)%n",
                cl.eventLoops(), cl.loopUtilization() * 100, cl.loopLag().p(99) * 1e3);
        out.printf(Locale.ROOT, "  target (serving issue): p99 overhead <= 1 ms: %s%n", d.count() == 0 ? "no data" : d.p(99) <= 0.001 ? "met" : "NOT met");
    }

    /** The result as JSON (seconds; a value that cannot be computed is null). */
    public static void writeJson(Result r, Map<String, Object> config, Writer out) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("tool", "baton bench router");
            g.writeStringField("created", java.time.Instant.now().toString());
            g.writeObjectFieldStart("config");
            for (var e : config.entrySet()) {
                g.writeFieldName(e.getKey());
                g.writeObject(e.getValue());
            }
            g.writeEndObject();
            g.writeStringField("url", r.url());
            g.writeNumberField("streams", r.options().streams());
            g.writeNumberField("tokens_per_stream", r.options().tokens());
            g.writeNumberField("completed", r.completed());
            g.writeNumberField("failed", r.failed());
            g.writeObjectFieldStart("errors");
            for (var e : r.errors().entrySet()) g.writeNumberField(e.getKey(), e.getValue());
            g.writeEndObject();
            if (r.firstError() == null) g.writeNullField("first_error");
            else g.writeStringField("first_error", r.firstError());
            g.writeNumberField("tokens_expected", r.tokensExpected());
            g.writeNumberField("tokens_matched", r.tokensMatched());
            ResultJson.num(g, "duration", r.duration());
            ResultJson.num(g, "tokens_per_second", r.tokensPerSecond());
            ResultJson.dist(g, "overhead", r.overhead());
            if (r.cpu() == null) {
                g.writeNullField("router_cpu");
            } else {
                Cpu c = r.cpu();
                g.writeObjectFieldStart("router_cpu");
                g.writeNumberField("event_loops", c.eventLoops());
                ResultJson.num(g, "event_loop_seconds", c.used().eventLoopNanos() / 1e9);
                ResultJson.num(g, "prepare_seconds", c.used().prepareNanos() / 1e9);
                ResultJson.num(g, "worker_seconds", c.used().workerNanos() / 1e9);
                ResultJson.num(g, "process_seconds", c.used().processNanos() < 0 ? Double.NaN : c.used().processNanos() / 1e9);
                ResultJson.num(g, "router_us_per_token", c.routerMicrosPerToken());
                ResultJson.num(g, "process_us_per_token", c.processMicrosPerToken());
                ResultJson.num(g, "event_loop_utilization", c.eventLoopUtilization());
                g.writeEndObject();
            }
            g.writeFieldName("client");
            ResultJson.client(g, r.client());
            g.writeEndObject();
        }
        out.write(System.lineSeparator());
        out.flush();
    }
}
