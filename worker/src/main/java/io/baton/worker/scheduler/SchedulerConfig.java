package io.baton.worker.scheduler;

/**
 * Limits of one scheduler.
 *
 * @param tokenBudget most tokens computed in one step (decode tokens and prompt chunks together); a prompt longer than
 *                    this is prefilled in chunks (chunked prefill). Default {@link #DEFAULT_TOKEN_BUDGET}.
 * @param maxRunning  most requests in the running batch. Default {@link #DEFAULT_MAX_RUNNING}.
 */
public record SchedulerConfig(Role role, int tokenBudget, int maxRunning) {
    /** 512 tokens: a step of 512 prompt tokens keeps decode steps short on two cores while amortizing weight reads. */
    public static final int DEFAULT_TOKEN_BUDGET = 512;
    /** 64 running requests: past this, two cores gain no aggregate decode throughput. */
    public static final int DEFAULT_MAX_RUNNING = 64;

    public SchedulerConfig {
        if (tokenBudget < 1) throw new IllegalArgumentException("token budget must be >= 1, got " + tokenBudget);
        if (maxRunning < 1) throw new IllegalArgumentException("max running requests must be >= 1, got " + maxRunning);
    }

    public static SchedulerConfig defaults(Role role) {
        return new SchedulerConfig(role, DEFAULT_TOKEN_BUDGET, DEFAULT_MAX_RUNNING);
    }
}
