package io.baton.router;

import io.baton.worker.scheduler.Role;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Picks the worker(s) for a request. A policy ranks the prefill-capable workers; a colocated pick serves the whole
 * request, a prefill-only pick is paired with the decode worker that has the most free KV blocks (then the smallest
 * running batch).
 */
public interface RoutingPolicy {
    /** The names accepted by {@link #named}; the first is the default. */
    List<String> NAMES = List.of("cache-aware", "least-loaded", "round-robin");

    /** Name in metrics and flags. */
    String name();

    /**
     * @param workers every known worker (up or not)
     * @return empty when no up worker can prefill or none can decode
     */
    Optional<RoutingDecision> choose(RoutingRequest request, List<WorkerInfo> workers);

    /** The policy of a flag value: {@code cache-aware}, {@code least-loaded} or {@code round-robin}. */
    static RoutingPolicy named(String name, PrefixIndex index) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cache-aware" -> new CacheAwarePolicy(index);
            case "least-loaded" -> new LeastLoadedPolicy();
            case "round-robin" -> new RoundRobinPolicy();
            default -> throw new IllegalArgumentException("unknown routing policy '" + name + "' (expected one of " + String.join(", ", NAMES) + ")");
        };
    }

    /** Up workers that can prefill, in id order (so ties break the same way every time). */
    static List<WorkerInfo> prefillCandidates(List<WorkerInfo> workers) {
        return workers.stream().filter(w -> w.up() && w.prefillCapable()).sorted(Comparator.comparing(WorkerInfo::id)).toList();
    }

    /** A decision for {@code prefill}: itself if colocated, else the decode worker with the most KV headroom. */
    static Optional<RoutingDecision> pair(WorkerInfo prefill, List<WorkerInfo> workers, String reason, int cachedTokens) {
        if (prefill.role() == Role.COLOCATED) return Optional.of(new RoutingDecision(prefill, prefill, reason, cachedTokens));
        return workers.stream().filter(w -> w.up() && w.role() == Role.DECODE)
                .min(Comparator.comparingInt((WorkerInfo w) -> -w.kvBlocksFree()).thenComparingInt(WorkerInfo::running)
                        .thenComparing(WorkerInfo::id))
                .map(d -> new RoutingDecision(prefill, d, reason, cachedTokens));
    }
}
