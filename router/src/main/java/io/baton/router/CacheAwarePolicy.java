package io.baton.router;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The prefill-capable worker with the least prefill work ahead of this request's first token: its queued prefill
 * tokens plus the part of this prompt it does not already hold (from the {@link PrefixIndex}). A long shared prefix
 * pulls a request to the worker that has it, until that worker's backlog outweighs the saving (the cost model of
 * architecture.md, "One request, end to end", step 2). Ties go to the smaller running batch, then the lower id.
 */
public final class CacheAwarePolicy implements RoutingPolicy {
    private final PrefixIndex index;

    public CacheAwarePolicy(PrefixIndex index) {
        this.index = index;
    }

    @Override
    public String name() {
        return "cache-aware";
    }

    @Override
    public Optional<RoutingDecision> choose(RoutingRequest request, List<WorkerInfo> workers) {
        Map<String, Integer> matched = index.matchedBlocks(request.blockHashes());
        WorkerInfo best = null;
        long bestCost = Long.MAX_VALUE;
        int bestCached = 0;
        for (WorkerInfo w : RoutingPolicy.prefillCandidates(workers)) {
            // Never count the whole prompt as cached: the last token is always computed to sample from.
            int cached = Math.min(matched.getOrDefault(w.id(), 0) * request.blockSize(), request.promptTokens() - 1);
            long cost = w.queuedPrefillTokens() + request.promptTokens() - cached;
            if (best == null || cost < bestCost || (cost == bestCost && w.running() + w.waiting() < best.running() + best.waiting())) {
                best = w;
                bestCost = cost;
                bestCached = cached;
            }
        }
        if (best == null) return Optional.empty();
        return RoutingPolicy.pair(best, workers, bestCached > 0 ? "prefix-hit" : "least-cost", Math.max(bestCached, 0));
    }
}
