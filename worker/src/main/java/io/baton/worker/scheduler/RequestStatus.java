package io.baton.worker.scheduler;

/** Where a request is in a worker's scheduler. */
public enum RequestStatus {
    /** Queued, holding no blocks (new, or preempted and waiting to be recomputed). */
    WAITING,
    /** Decode role: blocks reserved, the prompt's KV is arriving from a prefill worker. */
    RECEIVING_KV,
    /** In the running batch. */
    RUNNING,
    /** Prefill role: prompt computed and first token sampled; blocks held until the KV has been handed over. */
    HANDING_OFF,
    /** Done; its blocks are released. */
    FINISHED
}
