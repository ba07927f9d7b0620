package io.baton.worker.scheduler;

import io.baton.engine.kv.BlockTable;

/**
 * One request's part of a step: tokens {@code [start, start + length)} of the request, with the block table that
 * holds them.
 *
 * @param samples whether this chunk reaches the request's last known token, so the step samples a new one from it
 */
public record ScheduledChunk(Request request, int start, int length, BlockTable table, boolean samples) {

    /** The chunk's token ids. */
    public int[] tokens() {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = request.token(start + i);
        return t;
    }
}
