package io.baton.router;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** Prefill-capable workers in turn, whatever their load: the baseline. */
public final class RoundRobinPolicy implements RoutingPolicy {
    private final AtomicLong next = new AtomicLong();

    @Override
    public String name() {
        return "round-robin";
    }

    @Override
    public Optional<RoutingDecision> choose(RoutingRequest request, List<WorkerInfo> workers) {
        List<WorkerInfo> c = RoutingPolicy.prefillCandidates(workers);
        if (c.isEmpty()) return Optional.empty();
        WorkerInfo w = c.get((int) Math.floorMod(next.getAndIncrement(), (long) c.size()));
        return RoutingPolicy.pair(w, workers, "round-robin", 0);
    }
}
