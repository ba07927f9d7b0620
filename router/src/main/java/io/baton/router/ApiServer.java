package io.baton.router;

import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.worker.OutputListener;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The OpenAI-compatible HTTP front on Vert.x (docs/serving.md): {@code POST /v1/chat/completions},
 * {@code POST /v1/completions} (streamed as server-sent events or whole), {@code GET /v1/models}, {@code GET /health},
 * {@code GET /metrics}.
 *
 * <p>Threads: Vert.x event loops only move bytes (read bodies, write chunks); parsing, chat templating, tokenization
 * and block hashing run on the {@code baton-prepare} pool; routing and submitting run back on the request's event loop,
 * so a request's output events, which workers post to that loop, always come after its response headers.
 */
public final class ApiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    public static final String REQUEST_ID_HEADER = "X-Request-Id";
    /** Longest accepted {@code X-Request-Id}: enough for any UUID or trace id, small enough for a log line. */
    public static final int MAX_REQUEST_ID_LENGTH = 256;

    private final Router router;
    private final ServedModel model;
    private final RouterConfig config;
    private final RequestPreparer preparer;
    private final Vertx vertx;
    private final WorkerExecutor prepare;
    private final List<HttpServer> servers = new ArrayList<>();
    private int port;

    private ApiServer(Router router, ServedModel model, RouterConfig config) {
        this.router = router;
        this.model = model;
        this.config = config;
        this.preparer = new RequestPreparer(model, config.maxPromptTokens());
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops()).setWorkerPoolSize(1));
        this.prepare = vertx.createSharedWorkerExecutor("baton-prepare", config.prepareThreads(), 60, TimeUnit.SECONDS);
    }

    /** Starts listening; returns once the port is bound. */
    public static ApiServer start(Router router, ServedModel model, RouterConfig config) {
        ApiServer s = new ApiServer(router, model, config);
        try {
            s.listen();
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void listen() {
        // One server per event loop; Vert.x spreads connections over servers that share a port. The first binds the
        // port (a random one for port 0) and the others reuse the port it got.
        for (int i = 0; i < config.eventLoops(); i++) {
            HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(i == 0 ? config.port() : port)
                    .setCompressionSupported(false).setTcpNoDelay(true));
            server.requestHandler(this::handle);
            try {
                server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable c = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
                throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": " + c.getMessage(), c);
            }
            if (i == 0) port = server.actualPort();
            servers.add(server);
        }
    }

    public int port() {
        return port;
    }

    /** {@code http://HOST:PORT} */
    public String url() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + h + ":" + port;
    }

    @Override
    public void close() {
        for (HttpServer s : servers) await(s.close());
        await(prepare.close());
        await(vertx.close());
    }

    private static void await(Future<?> f) {
        try {
            f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "shutdown step failed: " + e);
        }
    }

    // ---- dispatch ----

    private void handle(HttpServerRequest req) {
        HttpServerResponse resp = req.response();
        String given = req.getHeader(REQUEST_ID_HEADER);
        String clientId = validRequestId(given) ? given : newRequestId();
        resp.putHeader(REQUEST_ID_HEADER, clientId);
        resp.exceptionHandler(t -> LOG.log(System.Logger.Level.DEBUG, () -> "response " + clientId + ": " + t));
        if (given != null && !validRequestId(given)) {
            sendError(resp, ApiException.badRequest(null, REQUEST_ID_HEADER + " must be 1 to " + MAX_REQUEST_ID_LENGTH
                    + " printable ASCII characters without spaces."));
            return;
        }
        String path = req.path();
        switch (path) {
            case "/v1/chat/completions" -> {
                if (allow(req, HttpMethod.POST)) completions(req, clientId, true);
            }
            case "/v1/completions" -> {
                if (allow(req, HttpMethod.POST)) completions(req, clientId, false);
            }
            case "/v1/models" -> {
                if (allow(req, HttpMethod.GET)) sendJson(resp, 200, OpenAiJson.models(model, true));
            }
            case "/health" -> {
                if (allow(req, HttpMethod.GET)) health(resp);
            }
            case "/metrics" -> {
                if (allow(req, HttpMethod.GET)) metrics(req, resp);
            }
            default -> {
                if (path.startsWith("/v1/models/") && allow(req, HttpMethod.GET)) {
                    String id = path.substring("/v1/models/".length());
                    if (id.equals(model.name())) sendJson(resp, 200, OpenAiJson.models(model, false));
                    else sendError(resp, ApiException.modelNotFound(id));
                } else if (!path.startsWith("/v1/models/")) {
                    sendError(resp, new ApiException(404, "invalid_request_error", null, "not_found", "Unknown path " + path + "."));
                }
            }
        }
    }

    private boolean allow(HttpServerRequest req, HttpMethod method) {
        if (req.method().equals(method)) return true;
        req.response().putHeader("Allow", method.name());
        sendError(req.response(), new ApiException(405, "invalid_request_error", null, "method_not_allowed",
                req.method().name() + " is not allowed on " + req.path() + "; use " + method.name() + "."));
        return false;
    }

    static boolean validRequestId(String id) {
        if (id == null || id.isEmpty() || id.length() > MAX_REQUEST_ID_LENGTH) return false;
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c <= 0x20 || c >= 0x7f) return false;
        }
        return true;
    }

    private static String newRequestId() {
        byte[] b = new byte[16];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void health(HttpServerResponse resp) {
        if (router.healthy()) {
            sendJson(resp, 200, OpenAiJson.object(List.of("status", "ok")));
        } else {
            sendJson(resp, 503, OpenAiJson.object(List.of("status", "unavailable",
                    "message", "no up prefill-capable and decode-capable worker")));
        }
    }

    private void metrics(HttpServerRequest req, HttpServerResponse resp) {
        Context ctx = Vertx.currentContext();
        // Fresh worker numbers (each worker answers between two steps), but never wait long for a busy one.
        Future.fromCompletionStage(router.refreshWorkers().completeOnTimeout(null, 1, TimeUnit.SECONDS), ctx).onComplete(ar -> {
            RouterMetrics.Scrape s = router.metrics().scrape(req.getHeader("Accept"));
            resp.setStatusCode(200).putHeader("Content-Type", s.contentType()).end(Buffer.buffer(s.body()));
        });
    }

    // ---- completions ----

    private void completions(HttpServerRequest req, String clientId, boolean chat) {
        long arrival = System.nanoTime();
        long limit = config.maxBodyBytes();
        String cl = req.getHeader("Content-Length");
        if (cl != null) {
            long length;
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                length = -1;
            }
            if (length > limit) {
                router.rejected(413);
                refuseBody(req, ApiException.tooLarge(limit));
                return;
            }
        }
        Exchange ex = new Exchange(req, clientId, chat, arrival);
        Buffer body = Buffer.buffer();
        req.handler(chunk -> {
            if (ex.state != State.READING) return;
            if (body.length() + chunk.length() > limit) {
                ex.state = State.DONE;
                router.rejected(413);
                refuseBody(req, ApiException.tooLarge(limit));
                return;
            }
            body.appendBuffer(chunk);
        });
        req.endHandler(v -> {
            if (ex.state != State.READING) return;
            ex.state = State.PREPARING;
            byte[] bytes = body.getBytes();
            prepare.<Prepared>executeBlocking(() -> {
                ParsedRequest p = RequestParser.parse(bytes, chat);
                return new Prepared(p, preparer.prepare(ex.id, clientId, p, router.blockSize(), arrival));
            }, false).onComplete(ar -> {
                if (ar.succeeded()) {
                    ex.start(ar.result());
                } else {
                    ex.state = State.DONE;
                    ApiException e = ar.cause() instanceof ApiException a ? a : internal(ar.cause(), clientId);
                    router.rejected(e.status());
                    if (!ex.resp.closed()) sendError(ex.resp, e);
                }
            });
        });
    }

    private static ApiException internal(Throwable t, String clientId) {
        LOG.log(System.Logger.Level.ERROR, "request " + clientId + " failed before reaching a worker", t);
        return ApiException.internal("Internal error: " + t);
    }

    /**
     * How long a refused request's unread body is read and thrown away before the connection is closed. Closing a
     * socket with unread bytes in its receive buffer makes the kernel send RST, which can destroy the 413 before the
     * client has read it (the client is typically still sending); draining first is nginx's "lingering close"
     * (its lingering_time is 30 s, lingering_timeout 5 s: one 5 s bound is enough for bodies a client sends at once).
     */
    static final long LINGER_MS = 5_000;

    /**
     * Answers 413 without keeping the body, then closes the connection once the client has finished sending it (or
     * after {@link #LINGER_MS}): the unread body is still coming and the connection cannot be reused.
     */
    private void refuseBody(HttpServerRequest req, ApiException e) {
        HttpServerResponse resp = req.response();
        HttpConnection connection = req.connection();
        var closer = new LingeringClose(connection);
        closer.timer = vertx.setTimer(LINGER_MS, t -> connection.close());
        req.handler(discarded -> {});
        req.endHandler(v -> closer.requestEnded());
        resp.putHeader("Connection", "close");
        resp.setStatusCode(e.status()).putHeader("Content-Type", "application/json").end(Buffer.buffer(OpenAiJson.error(e)))
                .onComplete(v -> closer.responseWritten());
    }

    /** Closes the connection when both the refusal is written and the client's body has ended (on the event loop). */
    private final class LingeringClose {
        final HttpConnection connection;
        long timer;
        boolean requestEnded;
        boolean responseWritten;

        LingeringClose(HttpConnection connection) {
            this.connection = connection;
        }

        void requestEnded() {
            requestEnded = true;
            closeIfDone();
        }

        void responseWritten() {
            responseWritten = true;
            closeIfDone();
        }

        private void closeIfDone() {
            if (!requestEnded || !responseWritten) return;
            vertx.cancelTimer(timer);
            connection.close();
        }
    }

    private record Prepared(ParsedRequest parsed, RouterRequest request) {}

    private enum State { READING, PREPARING, RUNNING, DONE }

    /**
     * One completion request on its event loop: from the body to the last byte of the response. Every method but the
     * listener's runs on the event loop.
     */
    private final class Exchange implements OutputListener {
        final HttpServerRequest req;
        final HttpServerResponse resp;
        final Context ctx = Vertx.currentContext();
        final String clientId;
        final boolean chat;
        final String id;
        final long created = System.currentTimeMillis() / 1000;
        final long arrival;
        State state = State.READING;
        boolean stream;
        OpenAiJson.Chunks chunks;
        /** Non-streamed text, appended on worker threads (one at a time) and read once the request has finished. */
        private final StringBuilder text = new StringBuilder();
        /** Set when the request asked for log-probabilities, else null. */
        LogprobsJson logprobsJson;
        /**
         * The tokens' log-probabilities not written yet: non-streamed, all of them (guarded by {@link #text}); streamed,
         * those of tokens whose text has not been sent yet (on the event loop only), sent with the next chunk of text.
         */
        private final List<TokenLogprobs> logprobs = new ArrayList<>();

        Exchange(HttpServerRequest req, String clientId, boolean chat, long arrival) {
            this.req = req;
            this.resp = req.response();
            this.clientId = clientId;
            this.chat = chat;
            this.arrival = arrival;
            this.id = (chat ? "chatcmpl-" : "cmpl-") + newRequestId();
            resp.closeHandler(v -> clientGone());
        }

        void start(Prepared p) {
            if (state == State.DONE || resp.closed()) {
                state = State.DONE;
                router.abandoned();
                return;
            }
            stream = p.parsed().stream();
            if (p.request().params().logprobs()) logprobsJson = new LogprobsJson(model.tokenizer(), chat);
            try {
                router.submit(p.request(), this);
            } catch (ApiException e) {
                state = State.DONE;
                sendError(resp, e);
                return;
            } catch (RuntimeException e) {
                state = State.DONE;
                router.rejected(500);
                sendError(resp, internal(e, clientId));
                return;
            }
            state = State.RUNNING;
            if (stream) {
                chunks = new OpenAiJson.Chunks(chat, id, created, model.name(), p.parsed().includeUsage());
                resp.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
                        .putHeader("Cache-Control", "no-cache");
                if (chat) resp.write(chunks.role());
                else resp.writeHead();
            }
        }

        /** The connection closed before the response ended: stop the request on its workers. */
        void clientGone() {
            if (state == State.DONE) return;
            State was = state;
            state = State.DONE;
            if (was == State.RUNNING) {
                LOG.log(System.Logger.Level.DEBUG, () -> "request " + id + " (X-Request-Id " + clientId + "): client gone, aborting");
                router.abort(id);
            }
        }

        // ---- OutputListener: on worker threads; hand over to the event loop ----

        @Override
        public void onToken(int token, String piece) {
            onToken(token, piece, null);
        }

        @Override
        public void onToken(int token, String piece, TokenLogprobs lp) {
            if (piece.isEmpty() && lp == null) return;
            if (!stream) {
                synchronized (text) {
                    text.append(piece);
                    if (lp != null) logprobs.add(lp);
                }
                return;
            }
            ctx.runOnContext(v -> {
                if (state != State.RUNNING) return;
                if (lp != null) logprobs.add(lp);
                // A token whose text is held back (part of a character or of a possible stop string) sends its
                // log-probabilities with the chunk that carries that text.
                if (!piece.isEmpty()) resp.write(chunks.text(piece, takeLogprobs()));
            });
        }

        /** The pending log-probabilities as a {@code logprobs} object, or null when none were asked for. */
        private String takeLogprobs() {
            if (logprobsJson == null) return null;
            String json = logprobsJson.render(logprobs);
            logprobs.clear();
            return json;
        }

        @Override
        public void onFinish(FinishReason reason, String last, int promptTokens, int completionTokens) {
            ctx.runOnContext(v -> finish(reason, last, promptTokens, completionTokens));
        }

        @Override
        public void onError(String message) {
            ctx.runOnContext(v -> {
                if (state != State.RUNNING) return;
                state = State.DONE;
                ApiException e = ApiException.internal(message);
                if (stream) {
                    resp.write(OpenAiJson.Chunks.error(e));
                    resp.end(OpenAiJson.Chunks.DONE);
                } else {
                    sendError(resp, e);
                }
            });
        }

        private void finish(FinishReason reason, String last, int promptTokens, int completionTokens) {
            if (state != State.RUNNING) return;
            state = State.DONE;
            if (stream) {
                if (!last.isEmpty() || !logprobs.isEmpty()) resp.write(chunks.text(last, takeLogprobs()));
                resp.write(chunks.finish(reason.wireName()));
                if (chunks != null && includeUsage()) resp.write(chunks.usage(promptTokens, completionTokens));
                resp.end(OpenAiJson.Chunks.DONE);
            } else {
                String all, lp;
                synchronized (text) {
                    all = text.append(last).toString();
                    lp = takeLogprobs();
                }
                sendJson(resp, 200, OpenAiJson.completion(chat, id, created, model.name(), all, lp, reason.wireName(), promptTokens, completionTokens));
            }
        }

        private boolean includeUsage() {
            return chunks.includesUsage();
        }
    }

    // ---- plain responses ----

    private static void sendJson(HttpServerResponse resp, int status, byte[] body) {
        if (resp.ended() || resp.closed()) return;
        resp.setStatusCode(status).putHeader("Content-Type", "application/json").end(Buffer.buffer(body));
    }

    private static void sendError(HttpServerResponse resp, ApiException e) {
        sendJson(resp, e.status(), OpenAiJson.error(e));
    }
}
