package io.baton.router;

import io.baton.worker.scheduler.Role;

/**
 * What the router knows about one worker at a moment: who it is, whether it can take requests, and its load.
 *
 * @param id                  unique name of the worker (in metrics labels and logs)
 * @param role                prefill, decode or colocated (a colocated worker is both prefill- and decode-capable)
 * @param up                  whether it accepts requests now
 * @param running             requests in its running batch
 * @param waiting             requests queued for their first step
 * @param kvBlocksUsed        KV blocks held by requests
 * @param kvBlocksFree        KV blocks that can be allocated (free ones, including cached but unreferenced)
 * @param blockSize           tokens per KV block (for prefix hashes)
 * @param queuedPrefillTokens prompt tokens submitted to it whose first token has not come back yet (its prefill backlog)
 * @param prefillTokensPerSecond how fast its engine prefilled at startup ({@code PrefillProbe}); 0 when not measured
 */
public record WorkerInfo(String id, Role role, boolean up, int running, int waiting, int kvBlocksUsed, int kvBlocksFree,
                         int blockSize, long queuedPrefillTokens, double prefillTokensPerSecond) {

    /** A worker whose prefill speed was not measured. */
    public WorkerInfo(String id, Role role, boolean up, int running, int waiting, int kvBlocksUsed, int kvBlocksFree,
                      int blockSize, long queuedPrefillTokens) {
        this(id, role, up, running, waiting, kvBlocksUsed, kvBlocksFree, blockSize, queuedPrefillTokens, 0);
    }

    public boolean prefillCapable() {
        return role == Role.PREFILL || role == Role.COLOCATED;
    }

    public boolean decodeCapable() {
        return role == Role.DECODE || role == Role.COLOCATED;
    }

    /** Role as written in metrics and logs: "prefill", "decode", "colocated". */
    public String roleName() {
        return roleName(role);
    }

    static String roleName(Role role) {
        return role.name().toLowerCase(java.util.Locale.ROOT);
    }
}
