package io.baton.kvtransfer;

import io.baton.engine.kv.KvCodec;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Builds DATA frames from the sender's KV storage. A frame carries a run of token slots in consecutive block ids
 * ({@link BlockRuns}), whose K rows and V rows are each one contiguous span of the storage. When the wire type is the
 * storage type a frame's sections are those spans themselves (nothing is copied); otherwise the rows are converted into
 * a staging area that the frames point into until {@link #reset()}. One per sender thread.
 */
final class FrameEncoder {
    private final KvStorage storage;
    private final KvLayout layout;
    private final WireType wire;
    private final boolean raw;
    private final MemorySegment staging;
    private long used;
    private float[] scratch = new float[0];

    private final int maxTokensPerFrame;

    /**
     * Payload bytes a frame aims at: large enough that per-frame work (header, checksum calls, the receiver's lookup,
     * lock and bookkeeping) is a small share, small enough that the receiver (which handles a frame once it has all of
     * it) works while the rest of a batch is still on the wire, and that frames stay in cache between the sender's
     * checksum and its write. 1 MiB rather than 256 KiB: in-process transfers of consecutive blocks went from 0.62-0.82
     * to 0.80-1.16 of memcpy (`baton bench kv --tokens 8192`, four alternating pairs), loopback TCP unchanged.
     */
    static final long FRAME_BYTES = 1 << 20;

    /** An encoder of frames of {@code wire} type; conversions use a staging area of one maximal frame. */
    FrameEncoder(KvStorage storage, WireType wire) {
        this.storage = storage;
        this.layout = storage.layout();
        this.wire = wire;
        this.raw = wire.kvType == layout.type();
        long perToken = wireBytes(1);
        if (perToken > FrameCodec.MAX_DATA_PAYLOAD) throw new IllegalArgumentException("one token's KV row (" + perToken + " bytes) exceeds a frame");
        this.maxTokensPerFrame = (int) Math.max(1, Math.min(FRAME_BYTES, FrameCodec.MAX_DATA_PAYLOAD) / perToken);
        this.staging = raw ? MemorySegment.NULL : Arena.ofAuto().allocate(FrameCodec.MAX_DATA_PAYLOAD, 64);
    }

    WireType wire() {
        return wire;
    }

    /** Most tokens one frame may carry: about {@link #FRAME_BYTES} of payload, at least one token. */
    int maxTokensPerFrame() {
        return maxTokensPerFrame;
    }

    /** Wire bytes of {@code n} tokens of one layer (K and V sections). */
    long wireBytes(int n) {
        return n * (wire.rowBytes(layout.kvHeads(), layout.headDim()) + wire.rowBytes(layout.kvHeads(), layout.valueDim()));
    }

    /**
     * The frame carrying {@code n} rows of {@code layer} from ({@code block}, {@code slot}) on, running into blocks
     * {@code block + 1, ...} past the end of {@code block} ({@link BlockRuns}), which hold token positions
     * {@code [firstToken, firstToken + n)}; or null when the staging area is full (send what was built,
     * {@link #reset()}, and ask again).
     */
    Frame.Data frame(long transferId, int layer, int block, int slot, int n, int firstToken) {
        if (raw) {
            return new Frame.Data(transferId, layer, firstToken, n, wire, storage.kRows(layer, block, slot, n), storage.vRows(layer, block, slot, n));
        }
        long kWire = wire.rowBytes(layout.kvHeads(), layout.headDim()), vWire = wire.rowBytes(layout.kvHeads(), layout.valueDim());
        if (used + n * (kWire + vWire) > staging.byteSize()) return null;
        MemorySegment k = staging.asSlice(used, n * kWire);
        MemorySegment v = staging.asSlice(used + n * kWire, n * vWire);
        used += n * (kWire + vWire);
        int kw = layout.kRowWidth(), vw = layout.vRowWidth(), bs = layout.blockSize();
        if (scratch.length < bs * Math.max(kw, vw)) scratch = new float[bs * Math.max(kw, vw)];
        // Converted block by block: storage reads go through one block at a time.
        for (int done = 0; done < n; ) {
            int b = block + (slot + done) / bs, s = (slot + done) % bs;
            int m = Math.min(n - done, bs - s);
            storage.readK(layer, b, s, m, scratch, 0);
            encode(scratch, m, layout.headDim(), k, done * kWire);
            storage.readV(layer, b, s, m, scratch, 0);
            encode(scratch, m, layout.valueDim(), v, done * vWire);
            done += m;
        }
        return new Frame.Data(transferId, layer, firstToken, n, wire, k, v);
    }

    private void encode(float[] rows, int n, int dim, MemorySegment dst, long dstOff) {
        if (wire == WireType.INT8) Int8Rows.quantize(rows, 0, n, layout.kvHeads(), dim, dst, dstOff);
        else KvCodec.encode(wire.kvType, rows, 0, dst, dstOff, n * layout.kvHeads() * dim);
    }

    /** Frees the staging area: every frame built so far has been sent. */
    void reset() {
        used = 0;
    }
}
