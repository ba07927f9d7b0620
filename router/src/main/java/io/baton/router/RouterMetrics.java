package io.baton.router;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Labels;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Supplier;

/**
 * The router's Prometheus metrics (names follow vLLM's serving metrics with the {@code baton_} prefix; seconds as
 * units). Latency histograms carry the request id as an exemplar, visible in the OpenMetrics format.
 */
public final class RouterMetrics {
    /** Outcomes of {@code baton_requests_total}. */
    public static final List<String> OUTCOMES = List.of("stop", "length", "abort", "error", "invalid", "refused", "unavailable");

    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
            0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640};
    private static final double[] TOKEN_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
            0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final String model;
    final Histogram timeToFirstToken;
    final Histogram interTokenLatency;
    final Histogram timePerOutputToken;
    final Histogram e2eLatency;
    final Histogram queueTime;
    final Counter requests;
    final Counter routingDecisions;
    final Counter promptTokens;
    final Counter generationTokens;

    /**
     * @param workers     the current state of every worker, read at each scrape
     * @param inFlight    requests the router has in flight
     * @param prefillRate a worker's measured prefill speed (tokens/s, 0 unknown)
     */
    public RouterMetrics(String model, Supplier<List<WorkerInfo>> workers, Supplier<Integer> inFlight,
                         java.util.function.ToDoubleFunction<String> prefillRate) {
        this.model = model;
        timeToFirstToken = histogram("baton_time_to_first_token_seconds",
                "Time from the request's arrival to its first generated token.", LATENCY_BUCKETS, "model", "role");
        interTokenLatency = histogram("baton_inter_token_latency_seconds",
                "Time between two consecutive generated tokens of a request.", TOKEN_BUCKETS, "model", "role");
        timePerOutputToken = histogram("baton_time_per_output_token_seconds",
                "Per request: (end-to-end time − time to first token) / (generated tokens − 1).", TOKEN_BUCKETS, "model");
        e2eLatency = histogram("baton_e2e_request_latency_seconds",
                "Time from the request's arrival to its last token.", LATENCY_BUCKETS, "model");
        queueTime = histogram("baton_request_queue_seconds",
                "Time from arrival until the request reaches a worker (role=router: parsing, templating, tokenizing, routing).",
                LATENCY_BUCKETS, "model", "role");
        requests = Counter.builder().name("baton_requests_total")
                .help("Requests by outcome: stop, length, abort (client gone), error, invalid (4xx), refused (429), unavailable (503).")
                .labelNames("model", "outcome").register(registry);
        routingDecisions = Counter.builder().name("baton_routing_decisions_total")
                .help("Routing decisions by policy and reason.").labelNames("policy", "reason").register(registry);
        promptTokens = Counter.builder().name("baton_prompt_tokens_total").help("Prompt tokens of admitted requests.")
                .labelNames("model").register(registry);
        generationTokens = Counter.builder().name("baton_generation_tokens_total").help("Generated tokens.")
                .labelNames("model").register(registry);
        for (String outcome : OUTCOMES) requests.labelValues(model, outcome); // export zeros from the start

        workerGauge("baton_worker_up", "1 when the worker accepts requests.", workers, w -> w.up() ? 1 : 0);
        workerGauge("baton_running_requests", "Requests in the worker's running batch.", workers, WorkerInfo::running);
        workerGauge("baton_waiting_requests", "Requests queued on the worker.", workers, WorkerInfo::waiting);
        workerGauge("baton_kv_blocks_used", "KV blocks held by requests.", workers, WorkerInfo::kvBlocksUsed);
        workerGauge("baton_kv_blocks_free", "KV blocks free (including cached, reclaimable ones).", workers, WorkerInfo::kvBlocksFree);
        workerGauge("baton_queued_prefill_tokens", "Prompt tokens submitted to the worker whose first token has not come back.",
                workers, w -> w.queuedPrefillTokens());
        workerGauge("baton_prefill_tokens_per_second", "The router's estimate of the worker's prefill speed (0 = not measured).",
                workers, w -> prefillRate.applyAsDouble(w.id()));
        workerGauge("baton_worker_startup_prefill_tokens_per_second", "The worker's own prefill speed, measured at its startup"
                + " (decode workers; it sets their conditional-disaggregation threshold; 0 = not measured).", workers,
                WorkerInfo::prefillTokensPerSecond);
        GaugeWithCallback.builder().name("baton_router_requests_in_flight").help("Requests the router has in flight.")
                .callback(cb -> cb.call(inFlight.get())).register(registry);
    }

    private Histogram histogram(String name, String help, double[] buckets, String... labels) {
        return Histogram.builder().name(name).help(help).labelNames(labels).classicOnly().classicUpperBounds(buckets).register(registry);
    }

    private void workerGauge(String name, String help, Supplier<List<WorkerInfo>> workers,
                             java.util.function.ToDoubleFunction<WorkerInfo> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("worker", "role").callback(cb -> {
            for (WorkerInfo w : workers.get()) cb.call(value.applyAsDouble(w), w.id(), w.roleName());
        }).register(registry);
    }

    public String model() {
        return model;
    }

    void outcome(String outcome) {
        requests.labelValues(model, outcome).inc();
    }

    void routed(String policy, String reason) {
        routingDecisions.labelValues(policy, reason).inc();
    }

    static Labels exemplar(String requestId) {
        return Labels.of("request_id", requestId);
    }

    /** The content type and body of a scrape: OpenMetrics (with exemplars) when {@code accept} asks for it, else Prometheus text 0.0.4. */
    public Scrape scrape(String accept) {
        ExpositionFormatWriter w = accept != null && accept.contains("application/openmetrics-text")
                ? OpenMetricsTextFormatWriter.create() : PrometheusTextFormatWriter.create();
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            w.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Scrape(w.getContentType(), out.toByteArray());
    }

    public record Scrape(String contentType, byte[] body) {}
}
