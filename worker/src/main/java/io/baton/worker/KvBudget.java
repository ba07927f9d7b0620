package io.baton.worker;

import io.baton.engine.kv.KvLayout;
import io.baton.worker.scheduler.SchedulerConfig;

/** How many KV blocks a worker allocates for a memory budget (the {@code --kv-memory} option of serve and worker). */
public final class KvBudget {
    /** KV memory when none is given: 1 GiB, or less when the model's running batch cannot use that much. */
    public static final long DEFAULT_KV_MEMORY_BYTES = 1L << 30;

    private KvBudget() {}

    /**
     * KV blocks for a memory budget; with no budget (0), {@link #DEFAULT_KV_MEMORY_BYTES} capped at what a full running
     * batch of full contexts needs. Always at least one full context.
     *
     * @throws IllegalArgumentException when the budget holds no block
     */
    public static int blocks(KvLayout layout, int contextLength, long bytes) {
        int oneContext = layout.blocksForTokens(contextLength);
        if (bytes == 0) {
            long full = (long) SchedulerConfig.DEFAULT_MAX_RUNNING * oneContext;
            return (int) Math.max(oneContext, Math.min(full, layout.blocksForBudget(DEFAULT_KV_MEMORY_BYTES)));
        }
        int blocks = layout.blocksForBudget(bytes);
        if (blocks < 1) {
            throw new IllegalArgumentException("KV memory of " + bytes + " bytes holds no block (one block is " + layout.bytesPerBlock() + " bytes)");
        }
        return blocks;
    }
}
