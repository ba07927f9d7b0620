package io.baton.bench.client;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.net.ConnectException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The HTTP side of the benchmark: Vert.x event loops that only send requests, stamp arriving bytes with
 * {@code System.nanoTime()} and append them to a {@link StreamRecord}; decoding happens elsewhere. One HTTP/1.1
 * connection per concurrent stream (as every OpenAI client does), kept alive between requests.
 */
public final class StreamClient implements AutoCloseable {
    /** Error bodies are kept up to this many bytes (enough for any JSON error message). */
    private static final int ERROR_BODY_LIMIT = 2048;

    static {
        io.baton.bench.client.NettyLogging.install();
    }

    private final Vertx vertx;
    private final HttpClient http;
    private final Context[] loops;
    private final String url;
    private final String modelsUrl;
    private final Map<String, String> headers;
    private final long idleTimeoutMs;
    private int next;

    /**
     * @param baseUrl        server root, e.g. {@code http://127.0.0.1:8000} (a trailing {@code /v1} is accepted)
     * @param eventLoops     event-loop threads (each one core at most)
     * @param maxConnections connection pool size: at least the largest number of concurrent streams
     * @param headers        sent with every request ({@code Authorization}, ...)
     * @param timeoutSec     a request fails with {@code timeout} when no byte arrives for this long
     */
    public StreamClient(String baseUrl, Endpoint endpoint, int eventLoops, int maxConnections, Map<String, String> headers,
                        double timeoutSec) {
        if (eventLoops < 1) throw new IllegalArgumentException("--event-loops must be >= 1");
        URI base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        if (base.getScheme() == null || base.getHost() == null || !(base.getScheme().equals("http") || base.getScheme().equals("https"))) {
            throw new IllegalArgumentException("--url must look like http://host:port, got '" + baseUrl + "'");
        }
        String root = base.toString();
        if (root.endsWith("/v1")) root = root.substring(0, root.length() - 3);
        this.url = root + endpoint.path;
        this.modelsUrl = root + "/v1/models";
        this.headers = Map.copyOf(headers);
        this.idleTimeoutMs = Math.max(1, (long) (timeoutSec * 1000));
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1).setPreferNativeTransport(false));
        this.http = vertx.createHttpClient(
                new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true).setDecompressionSupported(false)
                        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, idleTimeoutMs)),
                new PoolOptions().setHttp1MaxSize(Math.max(1, maxConnections)).setMaxWaitQueueSize(-1));
        this.loops = new Context[eventLoops];
        for (int i = 0; i < eventLoops; i++) loops[i] = vertx.getOrCreateContext();
    }

    public String url() {
        return url;
    }

    /**
     * Sends {@code body} as the request of {@code rec} on the next event loop; {@code done} runs exactly once, on that
     * event loop, when the response has ended or failed. Safe to call from any thread.
     */
    public void send(StreamRecord rec, Buffer body, Consumer<StreamRecord> done) {
        Context ctx;
        synchronized (this) {
            ctx = loops[next++ % loops.length];
        }
        ctx.runOnContext(v -> start(rec, body, done));
    }

    private void start(StreamRecord rec, Buffer body, Consumer<StreamRecord> done) {
        boolean[] finished = {false};
        Runnable finish = () -> {
            if (finished[0]) return;
            finished[0] = true;
            rec.endNanos = System.nanoTime();
            done.accept(rec);
        };
        RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url).setIdleTimeout(idleTimeoutMs)
                .putHeader("Content-Type", "application/json").putHeader("Accept", "text/event-stream")
                .putHeader("X-Request-Id", rec.requestId);
        headers.forEach(opts::putHeader);
        rec.sendNanos = System.nanoTime();
        http.request(opts).compose(req -> req.send(body)).onComplete(ar -> {
            if (ar.failed()) {
                rec.fail(classify(ar.cause(), false), message(ar.cause()));
                finish.run();
                return;
            }
            HttpClientResponse resp = ar.result();
            rec.status = resp.statusCode();
            if (rec.status != 200) {
                Buffer err = Buffer.buffer();
                resp.handler(b -> {
                    if (err.length() < ERROR_BODY_LIMIT) err.appendBuffer(b, 0, Math.min(b.length(), ERROR_BODY_LIMIT - err.length()));
                });
                resp.exceptionHandler(t -> {
                    rec.fail("http_" + rec.status, err.toString().strip());
                    finish.run();
                });
                resp.endHandler(v -> {
                    rec.fail("http_" + rec.status, err.toString().strip());
                    finish.run();
                });
                return;
            }
            resp.handler(chunk -> rec.onBytes(chunk, System.nanoTime()));
            resp.exceptionHandler(t -> {
                rec.fail(classify(t, true), message(t));
                finish.run();
            });
            resp.endHandler(v -> finish.run());
        });
    }

    static String classify(Throwable t, boolean gotResponse) {
        String name = t.getClass().getSimpleName();
        if (t instanceof TimeoutException || name.contains("Timeout")) return "timeout";
        if (!gotResponse) return t instanceof ConnectException || name.contains("Connect") ? "connect_error" : "request_error";
        return "disconnected";
    }

    private static String message(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /**
     * Opens {@code connections} keep-alive connections before a measurement, as {@code connections} concurrent
     * {@code GET /v1/models} requests (the route every OpenAI-compatible server has), so that the streams that follow
     * reuse them instead of opening all at once while other streams' tokens arrive. The pool must hold that many
     * ({@code maxConnections}), and the server must keep idle connections open until the streams start.
     *
     * @return how many of the requests got a 2xx answer (the others' connections may still be open)
     */
    public int preconnect(int connections) throws InterruptedException {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(connections);
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        for (int i = 0; i < connections; i++) {
            Context ctx = loops[i % loops.length];
            ctx.runOnContext(v -> {
                RequestOptions opts = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(modelsUrl).setIdleTimeout(idleTimeoutMs);
                headers.forEach(opts::putHeader);
                http.request(opts).compose(req -> req.send().compose(resp -> {
                    if (resp.statusCode() / 100 == 2) ok.incrementAndGet();
                    return resp.body();
                })).onComplete(ar -> done.countDown());
            });
        }
        if (!done.await(Math.max(1, idleTimeoutMs), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("preconnect: " + done.getCount() + " of " + connections + " GET /v1/models got no answer");
        }
        return ok.get();
    }

    /** Measures how late each event loop runs a task posted now: {@code sink} gets the delay in ns, on that loop. */
    public void probe(LongConsumer sink) {
        for (Context c : loops) {
            long posted = System.nanoTime();
            c.runOnContext(v -> sink.accept(System.nanoTime() - posted));
        }
    }

    /**
     * The event-loop threads' Linux thread ids (read on each loop), for scheduling them apart from the client's other
     * threads ({@link io.baton.bench.run.LoopPriority}).
     *
     * @throws IllegalStateException where there is no {@code /proc/thread-self} (not Linux)
     */
    public long[] loopLinuxThreadIds() {
        long[] tids = new long[loops.length];
        for (int i = 0; i < loops.length; i++) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            loops[i].runOnContext(v -> {
                try {
                    f.complete(io.baton.bench.run.LoopPriority.currentLinuxThreadId());
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
            try {
                tids[i] = f.join();
            } catch (java.util.concurrent.CompletionException e) {
                throw (RuntimeException) e.getCause();
            }
        }
        return tids;
    }

    /** The event-loop threads' ids (for their CPU time). */
    public long[] loopThreadIds() {
        long[] ids = new long[loops.length];
        for (int i = 0; i < loops.length; i++) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            loops[i].runOnContext(v -> f.complete(Thread.currentThread().threadId()));
            ids[i] = f.join();
        }
        return ids;
    }

    @Override
    public void close() {
        try {
            http.close().await(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // closing anyway
        }
        try {
            vertx.close().await(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // best effort: event-loop threads are daemons
        }
    }
}
