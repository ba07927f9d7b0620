package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCodec;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;

import java.lang.foreign.MemorySegment;

/**
 * Writes a DATA frame's rows into the receiver's blocks: token position {@code p} goes to
 * ({@code table.blockOf(p)}, {@code table.slotOf(p)}). Rows whose wire type is the storage type are copied as bytes,
 * one copy for K and one for V per run of consecutive destination block ids ({@link BlockRuns}); others are decoded to
 * floats and stored in the storage type, block by block. {@link #landPerBlock} is the plain reference of the raw copy.
 */
final class RowLander {
    private RowLander() {}

    /** Why a frame's sections do not fit {@code layout}, or null if they do. */
    static String checkLengths(KvLayout layout, Frame.Data d) {
        long k = d.count() * d.wire().rowBytes(layout.kvHeads(), layout.headDim());
        long v = d.count() * d.wire().rowBytes(layout.kvHeads(), layout.valueDim());
        if (d.k().byteSize() != k || d.v().byteSize() != v) {
            return "frame of " + d.count() + " tokens as " + d.wire() + " has sections of " + d.k().byteSize() + "+"
                    + d.v().byteSize() + " bytes, the layout needs " + k + "+" + v;
        }
        return null;
    }

    /** Stores the frame's rows; the caller has checked the layer, the token range and {@link #checkLengths}. */
    static void land(KvStorage storage, BlockTable table, Frame.Data d) {
        KvLayout l = storage.layout();
        if (d.wire().kvType != l.type()) {
            landConverted(storage, table, d);
            return;
        }
        long kRow = (long) l.kRowWidth() * l.type().bytes, vRow = (long) l.vRowWidth() * l.type().bytes;
        int end = d.firstToken() + d.count();
        for (int p = d.firstToken(); p < end; ) {
            int block = table.blockOf(p), slot = table.slotOf(p);
            int n = BlockRuns.length(table, p, end, Integer.MAX_VALUE);
            long i = p - d.firstToken();
            MemorySegment.copy(d.k(), i * kRow, storage.kRows(d.layer(), block, slot, n), 0, n * kRow);
            MemorySegment.copy(d.v(), i * vRow, storage.vRows(d.layer(), block, slot, n), 0, n * vRow);
            p += n;
        }
    }

    /** The reference of {@link #land}'s raw copy: block by block, one copy for K and one for V per block. */
    static void landPerBlock(KvStorage storage, BlockTable table, Frame.Data d) {
        KvLayout l = storage.layout();
        long kRow = (long) l.kRowWidth() * l.type().bytes, vRow = (long) l.vRowWidth() * l.type().bytes;
        int end = d.firstToken() + d.count();
        for (int p = d.firstToken(); p < end; ) {
            int block = table.blockOf(p), slot = table.slotOf(p);
            int n = Math.min(end - p, l.blockSize() - slot);
            long i = p - d.firstToken();
            MemorySegment.copy(d.k(), i * kRow, storage.kRows(d.layer(), block, slot, n), 0, n * kRow);
            MemorySegment.copy(d.v(), i * vRow, storage.vRows(d.layer(), block, slot, n), 0, n * vRow);
            p += n;
        }
    }

    /** Rows of another type than the storage's: decoded to floats, stored row by row. */
    private static void landConverted(KvStorage storage, BlockTable table, Frame.Data d) {
        KvLayout l = storage.layout();
        long kWire = d.wire().rowBytes(l.kvHeads(), l.headDim()), vWire = d.wire().rowBytes(l.kvHeads(), l.valueDim());
        float[] scratch = new float[Math.min(d.count(), l.blockSize()) * Math.max(l.kRowWidth(), l.vRowWidth())];
        int end = d.firstToken() + d.count();
        for (int p = d.firstToken(); p < end; ) {
            int block = table.blockOf(p), slot = table.slotOf(p);
            int n = Math.min(end - p, l.blockSize() - slot);
            int i = p - d.firstToken();
            decode(d.wire(), d.k(), i * kWire, n, l.kvHeads(), l.headDim(), scratch);
            for (int r = 0; r < n; r++) storage.writeK(d.layer(), block, slot + r, scratch, r * l.kRowWidth());
            decode(d.wire(), d.v(), i * vWire, n, l.kvHeads(), l.valueDim(), scratch);
            for (int r = 0; r < n; r++) storage.writeV(d.layer(), block, slot + r, scratch, r * l.vRowWidth());
            p += n;
        }
    }

    private static void decode(WireType wire, MemorySegment src, long off, int rows, int heads, int dim, float[] dst) {
        if (wire == WireType.INT8) Int8Rows.dequantize(src, off, rows, heads, dim, dst, 0);
        else KvCodec.decode(wire.kvType, src, off, dst, 0, rows * heads * dim);
    }
}
