package io.baton.kvtransfer;

import io.baton.engine.kv.KvCodec;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Builds DATA frames from the sender's KV storage. When the wire type is the storage type a frame's sections are
 * slices of the storage itself (nothing is copied); otherwise the rows are converted into a staging area that the
 * frames point into until {@link #reset()}. One per sender thread.
 */
final class FrameEncoder {
    private final KvStorage storage;
    private final KvLayout layout;
    private final WireType wire;
    private final boolean raw;
    private final MemorySegment staging;
    private final long kRowBytes, vRowBytes;
    private long used;
    private float[] scratch = new float[0];

    private final int maxTokensPerFrame;

    /** An encoder of frames of {@code wire} type; conversions use a staging area of one maximal frame. */
    FrameEncoder(KvStorage storage, WireType wire) {
        this.storage = storage;
        this.layout = storage.layout();
        this.wire = wire;
        this.raw = wire.kvType == layout.type();
        this.kRowBytes = (long) layout.kRowWidth() * layout.type().bytes;
        this.vRowBytes = (long) layout.vRowWidth() * layout.type().bytes;
        long perToken = wireBytes(1);
        if (perToken > FrameCodec.MAX_DATA_PAYLOAD) throw new IllegalArgumentException("one token's KV row (" + perToken + " bytes) exceeds a frame");
        this.maxTokensPerFrame = (int) Math.min(layout.blockSize(), FrameCodec.MAX_DATA_PAYLOAD / perToken);
        this.staging = raw ? MemorySegment.NULL : Arena.ofAuto().allocate(FrameCodec.MAX_DATA_PAYLOAD, 64);
    }

    WireType wire() {
        return wire;
    }

    /** Most tokens one frame may carry: a source block, or fewer where a block's rows would exceed a frame. */
    int maxTokensPerFrame() {
        return maxTokensPerFrame;
    }

    /** Wire bytes of {@code n} tokens of one layer (K and V sections). */
    long wireBytes(int n) {
        return n * (wire.rowBytes(layout.kvHeads(), layout.headDim()) + wire.rowBytes(layout.kvHeads(), layout.valueDim()));
    }

    /**
     * The frame carrying rows {@code [slot, slot + n)} of source block {@code block} in {@code layer}, which hold token
     * positions {@code [firstToken, firstToken + n)}; or null when the staging area is full (send what was built,
     * {@link #reset()}, and ask again).
     */
    Frame.Data frame(long transferId, int layer, int block, int slot, int n, int firstToken) {
        MemorySegment slice = storage.blockSegment(layer, block);
        if (raw) {
            return new Frame.Data(transferId, layer, firstToken, n, wire, slice.asSlice(slot * kRowBytes, n * kRowBytes),
                    slice.asSlice(layout.vOffsetInBlock() + slot * vRowBytes, n * vRowBytes));
        }
        long kBytes = n * wire.rowBytes(layout.kvHeads(), layout.headDim());
        long vBytes = n * wire.rowBytes(layout.kvHeads(), layout.valueDim());
        if (used + kBytes + vBytes > staging.byteSize()) return null;
        MemorySegment k = staging.asSlice(used, kBytes);
        MemorySegment v = staging.asSlice(used + kBytes, vBytes);
        used += kBytes + vBytes;
        int kw = layout.kRowWidth(), vw = layout.vRowWidth();
        if (scratch.length < n * Math.max(kw, vw)) scratch = new float[n * Math.max(kw, vw)];
        storage.readK(layer, block, slot, n, scratch, 0);
        encode(scratch, n, layout.headDim(), k);
        storage.readV(layer, block, slot, n, scratch, 0);
        encode(scratch, n, layout.valueDim(), v);
        return new Frame.Data(transferId, layer, firstToken, n, wire, k, v);
    }

    private void encode(float[] rows, int n, int dim, MemorySegment dst) {
        if (wire == WireType.INT8) Int8Rows.quantize(rows, 0, n, layout.kvHeads(), dim, dst, 0);
        else KvCodec.encode(wire.kvType, rows, 0, dst, 0, n * layout.kvHeads() * dim);
    }

    /** Frees the staging area: every frame built so far has been sent. */
    void reset() {
        used = 0;
    }
}
