package io.baton.router;

import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The router's core, independent of HTTP: it knows the workers, picks a route for each request
 * ({@link RoutingPolicy}), applies the concurrency limit and admission control, starts the request through a
 * {@link RequestFlow}, tracks it until it ends, and records its latencies.
 */
public final class Router implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Router.class.getName());

    private final String model;
    /**
     * The workers by id, replaced whole (copy on write) when one joins or leaves: requests read it without locking, and
     * workers come and go rarely (discovery in the multi-process mode).
     */
    private volatile Map<String, WorkerClient> workers = Map.of();
    private final Map<String, AutoCloseable> subscriptions = new LinkedHashMap<>();
    private final PrefixIndex index = new PrefixIndex();
    private final RoutingPolicy policy;
    private final RequestFlow flow;
    private final AdmissionControl admission;
    private final RouterMetrics metrics;
    private final int maxInFlight;
    private final Map<String, Tracker> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger inFlightCount = new AtomicInteger();

    /**
     * @param model the served model's name (metrics label)
     */
    public Router(String model, RouterConfig config, List<WorkerClient> clients, RequestFlow flow) {
        this.model = model;
        for (WorkerClient c : clients) addWorker(c);
        this.policy = RoutingPolicy.named(config.policy(), index);
        this.flow = flow;
        this.admission = new AdmissionControl(config.ttftSloSeconds(), config.admissionFactor(), config.initialPrefillTokensPerSecond());
        this.maxInFlight = config.maxConcurrentRequests();
        this.metrics = new RouterMetrics(model, this::workers, inFlightCount::get, admission::prefillSpeed);
    }

    public String model() {
        return model;
    }

    public RouterMetrics metrics() {
        return metrics;
    }

    public PrefixIndex prefixIndex() {
        return index;
    }

    public RoutingPolicy policy() {
        return policy;
    }

    public AdmissionControl admission() {
        return admission;
    }

    /**
     * Adds a worker: routing may choose it from now on, and its KV events feed the prefix index.
     *
     * @throws IllegalArgumentException when a worker of the same id is already there
     */
    public synchronized void addWorker(WorkerClient client) {
        String id = client.info().id();
        if (workers.containsKey(id)) throw new IllegalArgumentException("two workers named " + id);
        Map<String, WorkerClient> next = new LinkedHashMap<>(workers);
        next.put(id, client);
        subscriptions.put(id, client.subscribeKvEvents(e -> index.apply(id, e)));
        workers = java.util.Collections.unmodifiableMap(next);
        LOG.log(System.Logger.Level.INFO, () -> "worker " + id + " (" + client.info().roleName() + ") joined");
    }

    /**
     * Removes a worker (it left or stopped answering): routing no longer chooses it and the prefix index forgets what
     * it held. Requests already on it are not touched here (its client fails them when its connection goes). Does not
     * close the client.
     *
     * @return the removed client, or null when there was none of that id
     */
    public synchronized WorkerClient removeWorker(String id) {
        WorkerClient c = workers.get(id);
        if (c == null) return null;
        Map<String, WorkerClient> next = new LinkedHashMap<>(workers);
        next.remove(id);
        workers = java.util.Collections.unmodifiableMap(next);
        closeQuietly(subscriptions.remove(id));
        index.forget(id);
        LOG.log(System.Logger.Level.INFO, () -> "worker " + id + " left");
        return c;
    }

    /** The latest known state of every worker. */
    public List<WorkerInfo> workers() {
        Map<String, WorkerClient> ws = workers;
        List<WorkerInfo> out = new ArrayList<>(ws.size());
        for (WorkerClient c : ws.values()) out.add(c.info());
        return out;
    }

    /** Fresh states of every worker (each taken between two of its steps). */
    public CompletableFuture<List<WorkerInfo>> refreshWorkers() {
        List<CompletableFuture<WorkerInfo>> fs = new ArrayList<>();
        for (WorkerClient c : this.workers.values()) fs.add(c.refreshInfo().toCompletableFuture());
        return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new))
                .thenApply(v -> fs.stream().map(CompletableFuture::join).toList());
    }

    /** Ready: at least one prefill-capable and one decode-capable worker is up (a colocated worker is both). */
    public boolean healthy() {
        List<WorkerInfo> ws = workers();
        return ws.stream().anyMatch(w -> w.up() && w.prefillCapable()) && ws.stream().anyMatch(w -> w.up() && w.decodeCapable());
    }

    /** Tokens per KV block of the workers (they must agree; prefix hashes depend on it). */
    public int blockSize() {
        Map<String, WorkerClient> ws = workers;
        return ws.isEmpty() ? io.baton.engine.kv.KvLayout.DEFAULT_BLOCK_SIZE : ws.values().iterator().next().info().blockSize();
    }

    public int inFlight() {
        return inFlightCount.get();
    }

    /** Records a request that ended before reaching {@link #submit} (bad input): outcome "invalid". */
    public void rejected(int status) {
        metrics.outcome(switch (status) {
            case 429 -> "refused";
            case 503 -> "unavailable";
            case 500 -> "error";
            default -> "invalid";
        });
    }

    /** Records a request whose client left before it reached a worker: outcome "abort". */
    public void abandoned() {
        metrics.outcome("abort");
    }

    /**
     * Routes and starts a request; its output goes to {@code sink} from worker threads.
     *
     * @throws ApiException 429 when the concurrency limit or admission control refuses, 503 when no worker can serve,
     *                      400 when the chosen worker refuses the request outright
     */
    public void submit(RouterRequest req, OutputListener sink) {
        if (inFlightCount.incrementAndGet() > maxInFlight) {
            inFlightCount.decrementAndGet();
            throw refuse(ApiException.overloaded("Too many requests in flight (limit " + maxInFlight + "); retry later."));
        }
        boolean started = false;
        try {
            RoutingRequest rr = new RoutingRequest(req.id(), req.promptTokens().length, req.blockHashes(), blockSize());
            // One snapshot of the workers for choosing and starting: one that leaves meanwhile fails the request cleanly.
            Map<String, WorkerClient> ws = workers;
            List<WorkerInfo> infos = new ArrayList<>(ws.size());
            for (WorkerClient c : ws.values()) infos.add(c.info());
            RoutingDecision route = policy.choose(rr, infos).orElseThrow(() -> refuse(ApiException.unavailable(
                    "No worker can serve requests now (need an up prefill-capable and decode-capable worker).")));
            int uncached = req.promptTokens().length - route.cachedTokens();
            if (!admission.admits(route.prefill(), uncached)) {
                double predicted = admission.predictTtft(route.prefill(), uncached);
                throw refuse(ApiException.overloaded(String.format(java.util.Locale.ROOT,
                        "Server overloaded: predicted time to first token %.2f s exceeds the limit of %.2f s; retry later.",
                        predicted, admission.limitSeconds())));
            }
            metrics.routed(policy.name(), route.reason());
            long now = System.nanoTime();
            metrics.queueTime.labelValues(model, "router").observe(seconds(now - req.arrivalNanos()));
            Tracker t = new Tracker(req, route, uncached, now, sink);
            inFlight.put(req.id(), t);
            try {
                t.handle = flow.start(new GenerationRequest(req.id(), req.promptTokens(), req.params()), route, ws::get, t);
            } catch (IllegalArgumentException e) {
                inFlight.remove(req.id());
                throw refuse(ApiException.badRequest(null, e.getMessage()));
            } catch (IllegalStateException e) {
                inFlight.remove(req.id());
                throw refuse(ApiException.unavailable(e.getMessage()));
            }
            metrics.promptTokens.labelValues(model).inc(req.promptTokens().length);
            started = true;
            LOG.log(System.Logger.Level.DEBUG, () -> "request " + req.id() + ": " + req.promptTokens().length + " prompt tokens → "
                    + route.prefill().id() + (route.colocated() ? "" : " → " + route.decode().id()) + " (" + policy.name() + ", " + route.reason() + ")");
        } finally {
            if (!started) inFlightCount.decrementAndGet();
        }
    }

    private ApiException refuse(ApiException e) {
        rejected(e.status());
        return e;
    }

    /** Stops a request (client gone); its sink still gets the abort finish. Unknown ids are ignored. */
    public void abort(String requestId) {
        Tracker t = inFlight.get(requestId);
        if (t != null && t.handle != null) t.handle.cancel();
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable s : subscriptions.values()) closeQuietly(s);
        subscriptions.clear();
    }

    private static void closeQuietly(AutoCloseable s) {
        if (s == null) return;
        try {
            s.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing a KV event subscription failed", e);
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /** Follows one request: latencies, prefill speed, outcome, the in-flight count. On worker threads. */
    private final class Tracker implements OutputListener {
        final RouterRequest req;
        final RoutingDecision route;
        final int uncached;
        final long submitNanos;
        final OutputListener sink;
        volatile RequestFlow.Handle handle;
        private long firstNanos;
        private long lastNanos;
        private boolean ended;

        Tracker(RouterRequest req, RoutingDecision route, int uncached, long submitNanos, OutputListener sink) {
            this.req = req;
            this.route = route;
            this.uncached = uncached;
            this.submitNanos = submitNanos;
            this.sink = sink;
        }

        @Override
        public void onToken(int token, String text) {
            onToken(token, text, null);
        }

        @Override
        public synchronized void onToken(int token, String text, TokenLogprobs logprobs) {
            long now = System.nanoTime();
            if (firstNanos == 0) {
                firstNanos = now;
                metrics.timeToFirstToken.labelValues(model, route.prefill().roleName())
                        .observeWithExemplar(seconds(now - req.arrivalNanos()), RouterMetrics.exemplar(req.clientId()));
                admission.recordPrefill(route.prefill().id(), route.prefill().queuedPrefillTokens() + uncached, seconds(now - submitNanos));
            } else {
                metrics.interTokenLatency.labelValues(model, route.decode().roleName()).observe(seconds(now - lastNanos));
            }
            lastNanos = now;
            metrics.generationTokens.labelValues(model).inc();
            sink.onToken(token, text, logprobs);
        }

        @Override
        public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
            if (end()) {
                long now = System.nanoTime();
                double e2e = seconds(now - req.arrivalNanos());
                metrics.e2eLatency.labelValues(model).observeWithExemplar(e2e, RouterMetrics.exemplar(req.clientId()));
                long first;
                synchronized (this) {
                    first = firstNanos;
                }
                if (completionTokens > 1 && first != 0) {
                    metrics.timePerOutputToken.labelValues(model).observe(seconds(now - first) / (completionTokens - 1));
                }
                metrics.outcome(reason.wireName());
                LOG.log(System.Logger.Level.INFO, () -> String.format(java.util.Locale.ROOT,
                        "request %s (X-Request-Id %s) finished: %s, %d prompt + %d completion tokens, TTFT %.1f ms, total %.1f ms, on %s",
                        req.id(), req.clientId(), reason.wireName(), promptTokens, completionTokens,
                        first == 0 ? Double.NaN : (first - req.arrivalNanos()) / 1e6, e2e * 1e3, route.prefill().id()));
            }
            sink.onFinish(reason, text, promptTokens, completionTokens);
        }

        @Override
        public void onError(String message) {
            if (end()) {
                metrics.outcome("error");
                LOG.log(System.Logger.Level.WARNING, "request " + req.id() + " (X-Request-Id " + req.clientId() + ") failed: " + message);
            }
            sink.onError(message);
        }

        private synchronized boolean end() {
            if (ended) return false;
            ended = true;
            inFlight.remove(req.id());
            inFlightCount.decrementAndGet();
            return true;
        }
    }
}
