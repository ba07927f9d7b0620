package io.baton.router;

/**
 * Where one request runs: a prefill worker and a decode worker, the same one when it is colocated.
 *
 * @param reason       why, for the {@code baton_routing_decisions_total} metric and logs (e.g. "prefix-hit")
 * @param cachedTokens prompt tokens the prefill worker is believed to hold already (from the prefix index)
 */
public record RoutingDecision(WorkerInfo prefill, WorkerInfo decode, String reason, int cachedTokens) {
    public boolean colocated() {
        return prefill.id().equals(decode.id());
    }
}
