package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;

/**
 * Runs of token positions whose blocks have consecutive ids. {@code KvStorage} keeps a layer's K rows (and its V rows)
 * in block-id order, so the rows of such a run are one contiguous span: the sender sends a run as one frame, the
 * receiver lands it with one copy for K and one for V. A fresh block pool hands out consecutive ids, so runs are
 * usually long; a pool that has recycled blocks gives shorter ones, down to single blocks.
 */
final class BlockRuns {
    private BlockRuns() {}

    /**
     * How many positions from {@code p} on, at most {@code end - p} and at most {@code max} (at least 1), lie in blocks
     * {@code table.blockOf(p)}, {@code table.blockOf(p) + 1}, ... in that order.
     */
    static int length(BlockTable table, int p, int end, int max) {
        int bs = table.blockSize();
        int limit = Math.min(end - p, max);
        int n = Math.min(limit, bs - table.slotOf(p));
        int entry = p / bs;
        while (n < limit && table.blockId(entry + 1) == table.blockId(entry) + 1) {
            entry++;
            n = Math.min(limit, n + bs);
        }
        return n;
    }
}
