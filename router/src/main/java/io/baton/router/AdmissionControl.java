package io.baton.router;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Early refusal instead of queueing forever (Mooncake, "overload-oriented scheduling"): predict a request's time to
 * first token from the prefill work queued ahead of it on its prefill worker and that worker's measured prefill speed,
 * and refuse it when the prediction exceeds the TTFT objective × a factor.
 *
 * <p>Speed is measured per worker from each first token: the prefill tokens that had to be computed before it (the
 * worker's backlog at submit plus this prompt's uncached tokens) over the time it took. An exponential moving average
 * smooths it. Until a worker has a measurement, the configured initial speed is used, or, when that is 0, everything is
 * admitted.
 *
 * <p>A worker with no queued prefill work always admits: refusing cannot make the request faster anywhere, and a
 * poor speed estimate (the first request pays for warm-up) must not lock an idle server out.
 */
public final class AdmissionControl {
    /** Weight of a new measurement in the moving average. */
    static final double EWMA_WEIGHT = 0.2;

    private final double ttftSloSeconds;
    private final double factor;
    private final double initialTokensPerSecond;
    private final Map<String, Double> tokensPerSecond = new ConcurrentHashMap<>();

    public AdmissionControl(double ttftSloSeconds, double factor, double initialTokensPerSecond) {
        this.ttftSloSeconds = ttftSloSeconds;
        this.factor = factor;
        this.initialTokensPerSecond = initialTokensPerSecond;
    }

    /** Prefill speed of {@code worker} in tokens per second, or 0 when unknown. */
    public double prefillSpeed(String worker) {
        return tokensPerSecond.getOrDefault(worker, initialTokensPerSecond);
    }

    /** Predicted seconds to the first token, or 0 when the worker's speed is unknown. */
    public double predictTtft(WorkerInfo prefill, int uncachedTokens) {
        double speed = prefillSpeed(prefill.id());
        if (speed <= 0) return 0;
        return (prefill.queuedPrefillTokens() + uncachedTokens) / speed;
    }

    /** The most predicted TTFT that is still admitted, in seconds. */
    public double limitSeconds() {
        return ttftSloSeconds * factor;
    }

    /** Whether a request with {@code uncachedTokens} to prefill may go to {@code prefill}. */
    public boolean admits(WorkerInfo prefill, int uncachedTokens) {
        return prefill.queuedPrefillTokens() == 0 || predictTtft(prefill, uncachedTokens) <= limitSeconds();
    }

    /**
     * Records that {@code tokens} prefill tokens took {@code seconds} on {@code worker} (from submit to the first token).
     */
    public void recordPrefill(String worker, long tokens, double seconds) {
        if (tokens <= 0 || !(seconds > 0)) return;
        double sample = tokens / seconds;
        tokensPerSecond.merge(worker, sample, (old, s) -> old + EWMA_WEIGHT * (s - old));
    }
}
