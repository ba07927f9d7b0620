package io.baton.bench.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * A fake OpenAI-compatible server whose every request follows a {@link Script}: first token after {@code ttft}, then
 * one token per gap, or a scripted failure. It records when it received each request and when it wrote each token
 * ({@code System.nanoTime()}), so a client in the same JVM can be checked against the truth. Used by the tests and by
 * {@code baton bench calibrate}. It listens on 127.0.0.1 only.
 *
 * <p>The script is picked by the number after the last {@code -} of the {@code X-Request-Id} header (the request's
 * index in the workload), else by arrival order. Each token has an absolute due time, so delays do not drift; the
 * timers fire up to about a millisecond late (the recorded write times are the truth).
 */
public final class ScriptedServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How a request ends. */
    public enum Fault { NONE, HTTP_STATUS, MALFORMED_SSE, DISCONNECT, NO_DONE, STREAM_ERROR }

    /**
     * @param ttftMillis  delay from receiving the request to the first token
     * @param gapsMillis  gap before token {@code k + 1}, for each k; the last entry repeats for longer outputs
     * @param tokens      tokens to send; -1 sends what the request asked for ({@code max_tokens})
     * @param faultAfter  the fault happens after this many tokens were sent
     * @param httpStatus  the status of {@link Fault#HTTP_STATUS}
     * @param usage       whether to send a usage chunk when the request asks for it
     */
    public record Script(double ttftMillis, double[] gapsMillis, int tokens, Fault fault, int faultAfter, int httpStatus,
                         boolean usage) {
        public static Script stream(double ttftMillis, double itlMillis, int tokens) {
            return new Script(ttftMillis, new double[]{itlMillis}, tokens, Fault.NONE, 0, 200, true);
        }

        public static Script httpError(int status) {
            return new Script(0, new double[]{1}, 0, Fault.HTTP_STATUS, 0, status, true);
        }

        public Script failAfter(Fault f, int afterTokens) {
            return new Script(ttftMillis, gapsMillis, tokens, f, afterTokens, httpStatus, usage);
        }

        public Script withoutUsage() {
            return new Script(ttftMillis, gapsMillis, tokens, fault, faultAfter, httpStatus, false);
        }

        double gapMillis(int k) {
            return gapsMillis[Math.min(k, gapsMillis.length - 1)];
        }
    }

    /** What the server did for one request. */
    public record Served(String requestId, long receivedNanos, long[] tokenNanos, Fault fault) {}

    static {
        io.baton.bench.client.NettyLogging.install();
    }

    private final Vertx vertx;
    private final IntFunction<Script> scripts;
    private final Map<String, Served> served = new ConcurrentHashMap<>();
    private final AtomicInteger arrivals = new AtomicInteger(), inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private final int port;

    private ScriptedServer(int eventLoops, IntFunction<Script> scripts) {
        this.scripts = scripts;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops).setWorkerPoolSize(1).setPreferNativeTransport(false));
        // One server per event loop, all on one port: Vert.x shares a negative port number among the servers
        // that use it, picking one free port (its "server sharing"); each verticle instance gets its own event loop.
        AtomicInteger bound = new AtomicInteger();
        vertx.deployVerticle(() -> new VerticleBase() {
            @Override
            public Future<?> start() {
                HttpServer s = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setTcpNoDelay(true)
                        .setAcceptBacklog(8192));
                s.requestHandler(ScriptedServer.this::handle);
                s.connectionHandler(c -> connections.incrementAndGet());
                return s.listen(-1).onSuccess(x -> bound.set(x.actualPort()));
            }
        }, new DeploymentOptions().setInstances(eventLoops)).await();
        int p = bound.get();
        this.port = p;
    }

    /** Starts on a free port of 127.0.0.1 with {@code eventLoops} event loops sharing it. */
    public static ScriptedServer start(int eventLoops, IntFunction<Script> scripts) {
        return new ScriptedServer(eventLoops, scripts);
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public Map<String, Served> served() {
        return served;
    }

    /** TCP connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    public int maxInFlight() {
        return maxInFlight.get();
    }

    private void handle(HttpServerRequest req) {
        if (req.path().equals("/v1/models") && req.method() == io.vertx.core.http.HttpMethod.GET) {
            // What every OpenAI-compatible server answers; clients open their connections with it (preconnect).
            req.response().putHeader("Content-Type", "application/json")
                    .end("{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\",\"owned_by\":\"baton\"}]}");
            return;
        }
        String id = req.getHeader("X-Request-Id");
        int seq = arrivals.getAndIncrement();
        boolean chat = req.path().endsWith("/chat/completions");
        if (req.path().equals("/served") && req.method() == io.vertx.core.http.HttpMethod.GET) {
            req.response().putHeader("Content-Type", "application/json").end(servedJson());
            return;
        }
        if (!req.path().endsWith("/completions") || req.method() != io.vertx.core.http.HttpMethod.POST) {
            req.response().setStatusCode(404).end("{\"error\":{\"message\":\"not found\"}}");
            return;
        }
        req.body().onSuccess(body -> {
            long received = System.nanoTime();
            int index = indexOf(id, seq);
            Script script = scripts.apply(index);
            JsonNode json;
            try {
                json = JSON.readTree(body.getBytes());
            } catch (Exception e) {
                req.response().setStatusCode(400).end("{\"error\":{\"message\":\"bad JSON\"}}");
                return;
            }
            int asked = json.path("max_completion_tokens").asInt(json.path("max_tokens").asInt(16));
            boolean usage = script.usage() && json.path("stream_options").path("include_usage").asBoolean(false);
            int tokens = script.tokens() < 0 ? asked : script.tokens();
            String key = id != null ? id : "seq-" + seq;
            if (script.fault() == Fault.HTTP_STATUS) {
                served.put(key, new Served(key, received, new long[0], script.fault()));
                req.response().setStatusCode(script.httpStatus()).putHeader("Content-Type", "application/json")
                        .end("{\"error\":{\"message\":\"scripted " + script.httpStatus() + "\",\"code\":" + script.httpStatus() + "}}");
                return;
            }
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            HttpServerResponse resp = req.response().setChunked(true).putHeader("Content-Type", "text/event-stream")
                    .putHeader("Cache-Control", "no-cache");
            new Stream(key, resp, script, chat, tokens, usage, received, json.path("model").asText("fake")).next(0);
        });
    }

    /** {@code GET /served}: each finished request's id and token write times ({@code System.nanoTime()}). */
    private String servedJson() {
        StringBuilder sb = new StringBuilder("{");
        for (Served sv : served.values()) {
            if (sb.length() > 1) sb.append(',');
            sb.append('"').append(sv.requestId()).append("\":[");
            for (int i = 0; i < sv.tokenNanos().length; i++) sb.append(i == 0 ? "" : ",").append(sv.tokenNanos()[i]);
            sb.append(']');
        }
        return sb.append('}').toString();
    }

    /**
     * Runs the calibration server on its own (so its collector pauses and CPU are not the client's):
     * {@code streams tokens itlMillis ttftMillis aligned eventLoops}; prints {@code PORT n} and serves until its
     * standard input closes (the parent ended). On Linux {@code System.nanoTime()} is CLOCK_MONOTONIC, one clock for
     * every process of the machine, so the parent can compare its arrival times with the write times of
     * {@code GET /served}.
     */
    public static void main(String[] args) throws Exception {
        int streams = Integer.parseInt(args[0]), tokens = Integer.parseInt(args[1]), loops = Integer.parseInt(args[5]);
        double itl = Double.parseDouble(args[2]), ttft = Double.parseDouble(args[3]);
        boolean aligned = Boolean.parseBoolean(args[4]);
        try (ScriptedServer server = start(loops, calibrationScript(streams, tokens, itl, ttft, aligned))) {
            System.out.println("PORT " + server.port);
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until the parent closes our standard input
            }
        }
    }

    /** Calibration streams: {@code tokens} tokens {@code itl} apart, first tokens staggered over one ITL unless aligned. */
    public static IntFunction<Script> calibrationScript(int streams, int tokens, double itlMillis, double ttftMillis, boolean aligned) {
        return i -> Script.stream(ttftMillis + (aligned ? 0 : (double) (i % streams) * itlMillis / streams), itlMillis, tokens);
    }

    private static int indexOf(String id, int seq) {
        if (id == null) return seq;
        try {
            return Integer.parseInt(id.substring(id.lastIndexOf('-') + 1));
        } catch (NumberFormatException e) {
            return seq;
        }
    }

    /** One response being streamed on its event loop. */
    private final class Stream {
        final String id, model;
        final HttpServerResponse resp;
        final Script script;
        final boolean chat, usage;
        final int tokens;
        final long received;
        final long[] written;
        final Buffer token;   // every token chunk is the same bytes: made once (Netty writes a duplicate each time)
        long dueNanos;

        Stream(String id, HttpServerResponse resp, Script script, boolean chat, int tokens, boolean usage,
               long received, String model) {
            this.id = id;
            this.resp = resp;
            this.script = script;
            this.chat = chat;
            this.tokens = tokens;
            this.usage = usage;
            this.received = received;
            this.model = model;
            this.written = new long[tokens];
            this.token = chunk("tok ", null);
            this.dueNanos = received + (long) (script.ttftMillis() * 1e6);
        }

        /** Writes token {@code k} and those after it that are due (or the fault or the end), then waits for the next. */
        void next(int k) {
            for (; ; k++) {
                long delay = dueNanos - System.nanoTime();
                if (delay > 0) {
                    // Netty's NIO selector wakes with millisecond resolution: round up, the due time stays absolute
                    int at = k;
                    vertx.setTimer(Math.max(1, (delay + 999_999) / 1_000_000), t -> next(at));
                    return;
                }
                boolean faultNow = script.fault() != Fault.NONE && k == script.faultAfter();
                if (faultNow) {
                    fault(k);
                    return;
                }
                if (k == tokens) {
                    finish(k, true);
                    return;
                }
                written[k] = System.nanoTime();
                resp.write(token);
                if (k + 1 == tokens && !(script.fault() != Fault.NONE && script.faultAfter() == tokens)) {
                    finish(tokens, true);   // as real servers do: the end follows the last token at once
                    return;
                }
                dueNanos += (long) (script.gapMillis(k) * 1e6);
            }
        }

        private void fault(int k) {
            switch (script.fault()) {
                case MALFORMED_SSE -> {
                    resp.write("data: {\"choices\": [{\"delta\": \n\n");
                    finish(k, true);
                }
                case DISCONNECT -> {
                    record(k);
                    resp.reset();
                }
                case NO_DONE -> {
                    record(k);
                    resp.end();
                }
                case STREAM_ERROR -> {
                    resp.write("data: {\"error\": {\"message\": \"scripted stream error\", \"code\": 500}}\n\n");
                    finish(k, false);
                }
                default -> throw new IllegalStateException(script.fault().name());
            }
        }

        private void finish(int k, boolean done) {
            if (done) {
                resp.write(chunk(null, "length"));
                if (usage) {
                    resp.write("data: {\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion")
                            + "\",\"model\":\"" + model + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":" + k
                            + ",\"total_tokens\":" + (7 + k) + "}}\n\n");
                }
                resp.write("data: [DONE]\n\n");
            }
            record(k);
            resp.end();
        }

        private void record(int k) {
            inFlight.decrementAndGet();
            served.put(id, new Served(id, received, java.util.Arrays.copyOf(written, k), script.fault()));
        }

        private Buffer chunk(String text, String finishReason) {
            String fr = finishReason == null ? "null" : "\"" + finishReason + "\"";
            String s = chat
                    ? "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"model\":\"" + model
                      + "\",\"choices\":[{\"index\":0,\"delta\":" + (text == null ? "{}" : "{\"content\":\"" + text + "\"}")
                      + ",\"finish_reason\":" + fr + "}]}\n\n"
                    : "data: {\"id\":\"" + id + "\",\"object\":\"text_completion\",\"model\":\"" + model
                      + "\",\"choices\":[{\"index\":0,\"text\":\"" + (text == null ? "" : text) + "\",\"finish_reason\":" + fr + "}]}\n\n";
            return Buffer.buffer(s);
        }
    }

    @Override
    public void close() {
        try {
            vertx.close().await(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // event-loop threads are daemons
        }
    }
}
