package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.kvtransfer.transport.Link;

import java.util.BitSet;
import java.util.concurrent.ScheduledFuture;

/**
 * The receiver's record of one granted transfer. Its state moves GRANTED → RECEIVING → COMPLETE or FAILED under the
 * object's monitor. Rows copied from a frame are written under the same monitor; rows read straight from a socket into
 * the blocks are written outside it, counted in {@link #writers}, and a failure that comes meanwhile defers its
 * listener call until they are done. Either way no row lands after the listener hears the outcome.
 */
final class IncomingTransfer {
    enum State { GRANTED, RECEIVING, COMPLETE, FAILED }

    final KvGrant grant;
    final BlockTable table;
    final TransferListener listener;
    /** Bit {@code layer × tokens + token}: that row has landed. */
    private final BitSet landed;
    private final long total;
    private long landedCount;
    State state = State.GRANTED;
    /** The link the data comes over (set by the first DATA frame). */
    Link link;
    ScheduledFuture<?> lease;
    /** Payloads being read straight into this transfer's blocks (0 or 1: one reader thread per link). */
    int writers;
    /** The failure whose listener call waits for {@link #writers} to reach 0, so no write lands after it; else null. */
    TransferFailure deferred;

    IncomingTransfer(KvGrant grant, BlockTable table, TransferListener listener) {
        this.grant = grant;
        this.table = table;
        this.listener = listener;
        this.total = (long) grant.layout().layers() * grant.tokens();
        this.landed = new BitSet(Math.toIntExact(total));
    }

    boolean isFinal() {
        return state == State.COMPLETE || state == State.FAILED;
    }

    /**
     * Marks rows {@code [first, first + count)} of {@code layer} as landed.
     *
     * @return how many of them had landed before (duplicates)
     */
    int markLanded(int layer, int first, int count) {
        int from = layer * grant.tokens() + first, to = from + count;
        int before = 0;
        for (int i = landed.nextSetBit(from); i >= 0 && i < to; i = landed.nextSetBit(i + 1)) before++;
        landed.set(from, to);
        landedCount += count - before;
        return before;
    }

    boolean allLanded() {
        return landedCount == total;
    }

    /** Rows landed and rows expected, for log lines. */
    String progress() {
        return landedCount + "/" + total + " layer-rows";
    }
}
