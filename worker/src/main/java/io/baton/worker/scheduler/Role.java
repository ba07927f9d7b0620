package io.baton.worker.scheduler;

/** What a worker does with a request (architecture.md, "Modes"). */
public enum Role {
    /** Prefill and decode mixed in one continuous batch: the classic design and the baseline. */
    COLOCATED,
    /** Computes the prompt, samples the first token, hands the KV out, stops. */
    PREFILL,
    /** Admits requests whose KV arrives from a prefill worker, then decodes. */
    DECODE
}
