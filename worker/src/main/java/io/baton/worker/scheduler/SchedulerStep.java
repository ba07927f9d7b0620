package io.baton.worker.scheduler;

import java.util.List;

/**
 * What runs in one forward step: decode tokens first, then prompt chunks, in scheduling order; and the requests
 * preempted to make room (their blocks are already freed; they will be recomputed).
 */
public record SchedulerStep(List<ScheduledChunk> chunks, List<Request> preempted) {

    public boolean isEmpty() {
        return chunks.isEmpty();
    }

    public int numTokens() {
        int n = 0;
        for (ScheduledChunk c : chunks) n += c.length();
        return n;
    }
}
