package io.baton.router;

/**
 * The router's limits and knobs; {@link #defaults()} documents every default (docs/serving.md lists them too).
 *
 * @param host                          address to listen on
 * @param port                          TCP port; 0 picks a free one
 * @param maxBodyBytes                  largest request body; bigger ones get 413
 * @param maxPromptTokens               longest prompt after templating; 0 means the model's context length minus one
 *                                      (room for one generated token). Longer prompts get 400
 * @param maxConcurrentRequests         requests in flight at once (streaming or not); more get 429
 * @param ttftSloSeconds                the time-to-first-token objective
 * @param admissionFactor               refuse (429) a request whose predicted TTFT exceeds ttftSloSeconds × this
 * @param initialPrefillTokensPerSecond prefill speed assumed before the first measurement; 0 means unknown (admit all
 *                                      until measured)
 * @param prepareThreads                threads that parse JSON, render chat templates and tokenize (never the
 *                                      event loop)
 * @param eventLoops                    Vert.x event loop threads (HTTP I/O only)
 * @param policy                        routing policy name ({@link RoutingPolicy#NAMES})
 */
public record RouterConfig(String host, int port, long maxBodyBytes, int maxPromptTokens, int maxConcurrentRequests,
                           double ttftSloSeconds, double admissionFactor, double initialPrefillTokensPerSecond,
                           int prepareThreads, int eventLoops, String policy) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;
    /** 4 MiB: a 128k-token prompt as JSON text is about 0.5–1 MiB; room for long chats, not for abuse. */
    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;
    /** 1,024 in flight: the issue asks one router core to hold ≥ 1,000 streams. */
    public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 1024;
    /** 2 s to the first token, the usual interactive objective (DistServe, Mooncake evaluations). */
    public static final double DEFAULT_TTFT_SLO_SECONDS = 2.0;
    /** Refuse only when the prediction is 5× past the objective: a prediction is rough, queueing a little is fine. */
    public static final double DEFAULT_ADMISSION_FACTOR = 5.0;
    public static final int DEFAULT_PREPARE_THREADS = 2;
    public static final int DEFAULT_EVENT_LOOPS = 1;

    public RouterConfig {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host must not be blank");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        if (maxBodyBytes < 1) throw new IllegalArgumentException("max body size must be >= 1 byte, got " + maxBodyBytes);
        if (maxPromptTokens < 0) throw new IllegalArgumentException("max prompt tokens must be >= 0 (0 = context length), got " + maxPromptTokens);
        if (maxConcurrentRequests < 1) throw new IllegalArgumentException("max concurrent requests must be >= 1, got " + maxConcurrentRequests);
        if (!(ttftSloSeconds > 0)) throw new IllegalArgumentException("TTFT SLO must be > 0 seconds, got " + ttftSloSeconds);
        if (!(admissionFactor > 0)) throw new IllegalArgumentException("admission factor must be > 0, got " + admissionFactor);
        if (!(initialPrefillTokensPerSecond >= 0)) throw new IllegalArgumentException("initial prefill speed must be >= 0, got " + initialPrefillTokensPerSecond);
        if (prepareThreads < 1) throw new IllegalArgumentException("prepare threads must be >= 1, got " + prepareThreads);
        if (eventLoops < 1) throw new IllegalArgumentException("event loops must be >= 1, got " + eventLoops);
        if (!RoutingPolicy.NAMES.contains(policy)) {
            throw new IllegalArgumentException("unknown routing policy '" + policy + "' (expected one of " + String.join(", ", RoutingPolicy.NAMES) + ")");
        }
    }

    public static RouterConfig defaults() {
        return new RouterConfig(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_BODY_BYTES, 0, DEFAULT_MAX_CONCURRENT_REQUESTS,
                DEFAULT_TTFT_SLO_SECONDS, DEFAULT_ADMISSION_FACTOR, 0, DEFAULT_PREPARE_THREADS, DEFAULT_EVENT_LOOPS,
                RoutingPolicy.NAMES.getFirst());
    }

    public RouterConfig withHost(String v) { return new RouterConfig(v, port, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withPort(int v) { return new RouterConfig(host, v, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withMaxBodyBytes(long v) { return new RouterConfig(host, port, v, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withMaxPromptTokens(int v) { return new RouterConfig(host, port, maxBodyBytes, v, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withMaxConcurrentRequests(int v) { return new RouterConfig(host, port, maxBodyBytes, maxPromptTokens, v, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withAdmission(double sloSeconds, double factor, double initialTokensPerSecond) { return new RouterConfig(host, port, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, sloSeconds, factor, initialTokensPerSecond, prepareThreads, eventLoops, policy); }
    public RouterConfig withPrepareThreads(int v) { return new RouterConfig(host, port, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, v, eventLoops, policy); }
    public RouterConfig withEventLoops(int v) { return new RouterConfig(host, port, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, v, policy); }
    public RouterConfig withPolicy(String v) { return new RouterConfig(host, port, maxBodyBytes, maxPromptTokens, maxConcurrentRequests, ttftSloSeconds, admissionFactor, initialPrefillTokensPerSecond, prepareThreads, eventLoops, v); }
}
