package io.baton.router;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** The prefill-capable worker with the fewest requests (running + waiting), then the fewest KV blocks in use. */
public final class LeastLoadedPolicy implements RoutingPolicy {
    @Override
    public String name() {
        return "least-loaded";
    }

    @Override
    public Optional<RoutingDecision> choose(RoutingRequest request, List<WorkerInfo> workers) {
        return RoutingPolicy.prefillCandidates(workers).stream()
                .min(Comparator.comparingInt((WorkerInfo w) -> w.running() + w.waiting()).thenComparingInt(WorkerInfo::kvBlocksUsed))
                .flatMap(w -> RoutingPolicy.pair(w, workers, "least-loaded", 0));
    }
}
