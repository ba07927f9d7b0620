package io.baton.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The KV memory of a worker: {@code numBlocks} blocks of a {@link KvLayout}, allocated once, off-heap, in one shared
 * arena, and never resized. Block ids are the {@link BlockPool}'s; this class only stores and converts.
 *
 * <p>Layout: layer-major, and inside a layer all K rows first, then all V rows (docs/kv-cache.md, "Block layout"):
 * layer {@code l} is {@code [K rows of block 0 .. numBlocks-1][V rows of block 0 .. numBlocks-1]}, each block's rows in
 * slot order. So the K (or V) rows of a run of consecutive block ids are one contiguous span ({@link #kRows},
 * {@link #vRows}): the KV transfer sends and lands a run of blocks with one copy for K and one for V instead of two per
 * block, and a block's K rows are still one contiguous run for attention.
 *
 * <p>Threads: the memory is shared ({@link Arena#ofShared()}); different threads may write different (layer, block,
 * slot) rows at once. Closing frees everything; any later access throws {@link IllegalStateException}.
 */
public final class KvStorage implements AutoCloseable {
    /** Alignment of the allocation: a cache line, so F32 rows of 16 floats never straddle two lines. */
    private static final long ALIGNMENT = 64;

    private final KvLayout layout;
    private final int numBlocks;
    private final Arena arena;
    private final MemorySegment memory;
    private final long layerBytes;
    /** Bytes of the K rows of every block of one layer: where that layer's V rows start. */
    private final long kPartBytes;
    private final long kRowBytes;
    private final long vRowBytes;
    private final long kHeadBytes;
    private final long vHeadBytes;

    private KvStorage(KvLayout layout, int numBlocks) {
        this.layout = layout;
        this.numBlocks = numBlocks;
        this.layerBytes = layout.blockBytesPerLayer() * numBlocks;
        this.kRowBytes = (long) layout.kRowWidth() * layout.type().bytes;
        this.vRowBytes = (long) layout.vRowWidth() * layout.type().bytes;
        this.kPartBytes = (long) numBlocks * layout.blockSize() * kRowBytes;
        this.kHeadBytes = (long) layout.headDim() * layout.type().bytes;
        this.vHeadBytes = (long) layout.valueDim() * layout.type().bytes;
        this.arena = Arena.ofShared();
        try {
            this.memory = arena.allocate(layerBytes * layout.layers(), ALIGNMENT);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new IllegalArgumentException("cannot allocate " + layerBytes * layout.layers() + " bytes of KV memory ("
                    + numBlocks + " blocks of " + layout.bytesPerBlock() + " bytes): " + e.getMessage(), e);
        }
    }

    /** Allocates (zeroed) memory for {@code numBlocks} blocks. */
    public static KvStorage allocate(KvLayout layout, int numBlocks) {
        if (numBlocks <= 0) throw new IllegalArgumentException("KV storage needs at least one block, got " + numBlocks);
        return new KvStorage(layout, numBlocks);
    }

    /** Allocates as many whole blocks as fit in {@code budgetBytes}; at least one must fit. */
    public static KvStorage allocateBudget(KvLayout layout, long budgetBytes) {
        int blocks = layout.blocksForBudget(budgetBytes);
        if (blocks == 0) {
            throw new IllegalArgumentException("a KV budget of " + budgetBytes + " bytes holds no block (one block is "
                    + layout.bytesPerBlock() + " bytes)");
        }
        return new KvStorage(layout, blocks);
    }

    public KvLayout layout() {
        return layout;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Total bytes allocated. */
    public long byteSize() {
        return memory.byteSize();
    }

    // ---- raw memory for the KV transfer ----

    /** All blocks of one layer: {@code numBlocks × blockBytesPerLayer} bytes, every block's K rows, then every block's V rows. */
    public MemorySegment layerSegment(int layer) {
        Objects.checkIndex(layer, layout.layers());
        return memory.asSlice(layer * layerBytes, layerBytes);
    }

    /**
     * The K rows of {@code rows} consecutive token slots of one layer, from ({@code block}, {@code slot}) on, little-endian
     * in the storage type: past the end of {@code block} the rows go on into blocks {@code block + 1, block + 2, ...} (one
     * span for a run of consecutive block ids).
     */
    public MemorySegment kRows(int layer, int block, int slot, int rows) {
        return memory.asSlice(kRowOffset(layer, block, slot), checkRun(block, slot, rows) * kRowBytes);
    }

    /** The V rows of {@code rows} consecutive token slots, as {@link #kRows}. */
    public MemorySegment vRows(int layer, int block, int slot, int rows) {
        return memory.asSlice(vRowOffset(layer, block, slot), checkRun(block, slot, rows) * vRowBytes);
    }

    // ---- writes ----

    /** Stores one token's K row ({@code kvHeads × headDim} floats from {@code src[off]}) at (layer, block, slot). */
    public void writeK(int layer, int block, int slot, float[] src, int off) {
        KvCodec.encode(layout.type(), src, off, memory, kRowOffset(layer, block, slot), layout.kRowWidth());
    }

    /** Stores one token's V row ({@code kvHeads × valueDim} floats from {@code src[off]}) at (layer, block, slot). */
    public void writeV(int layer, int block, int slot, float[] src, int off) {
        KvCodec.encode(layout.type(), src, off, memory, vRowOffset(layer, block, slot), layout.vRowWidth());
    }

    /** Stores one token's K and V rows. */
    public void write(int layer, int block, int slot, float[] k, int kOff, float[] v, int vOff) {
        writeK(layer, block, slot, k, kOff);
        writeV(layer, block, slot, v, vOff);
    }

    // ---- reads ----

    /** Reads K rows of slots {@code [fromSlot, fromSlot + slots)} of a block into {@code dst[dstOff..]}, as floats. */
    public void readK(int layer, int block, int fromSlot, int slots, float[] dst, int dstOff) {
        checkSlots(fromSlot, slots);
        if (slots == 0) return;
        KvCodec.decode(layout.type(), memory, kRowOffset(layer, block, fromSlot), dst, dstOff, slots * layout.kRowWidth());
    }

    /** Reads V rows of slots {@code [fromSlot, fromSlot + slots)} of a block into {@code dst[dstOff..]}, as floats. */
    public void readV(int layer, int block, int fromSlot, int slots, float[] dst, int dstOff) {
        checkSlots(fromSlot, slots);
        if (slots == 0) return;
        KvCodec.decode(layout.type(), memory, vRowOffset(layer, block, fromSlot), dst, dstOff, slots * layout.vRowWidth());
    }

    /** The dot product of KV head {@code head}'s key at (layer, block, slot) with {@code q[qOff .. qOff + headDim)}. */
    public float dotK(int layer, int block, int slot, int head, float[] q, int qOff) {
        Objects.checkIndex(head, layout.kvHeads());
        return KvCodec.dot(layout.type(), memory, kRowOffset(layer, block, slot) + head * kHeadBytes, q, qOff, layout.headDim());
    }

    /** {@code out[outOff .. outOff + valueDim) += p × V} of KV head {@code head} at (layer, block, slot). */
    public void addScaledV(int layer, int block, int slot, int head, float p, float[] out, int outOff) {
        Objects.checkIndex(head, layout.kvHeads());
        KvCodec.addScaled(layout.type(), memory, vRowOffset(layer, block, slot) + head * vHeadBytes, p, out, outOff, layout.valueDim());
    }

    /**
     * Attention scores against one block: {@code scores[scoresOff + s] = K(slot s, head) · q[qOff ..]} for slots
     * {@code 0 .. slots-1} (a request's last block may be partly filled). One call per (block, query head) keeps the
     * index checks and dispatch out of the per-token loop.
     */
    public void dotKBlock(int layer, int block, int slots, int head, float[] q, int qOff, float[] scores, int scoresOff) {
        checkSlots(0, slots);
        Objects.checkIndex(head, layout.kvHeads());
        Objects.checkFromIndexSize(qOff, layout.headDim(), q.length);
        Objects.checkFromIndexSize(scoresOff, slots, scores.length);
        long base = kRowOffset(layer, block, 0) + head * kHeadBytes;
        for (int s = 0; s < slots; s++) {
            scores[scoresOff + s] = KvCodec.dot(layout.type(), memory, base + s * kRowBytes, q, qOff, layout.headDim());
        }
    }

    /** Weighted sum of one block's values: {@code out[outOff ..] += Σ_s p[pOff + s] × V(slot s, head)} over {@code slots}. */
    public void addScaledVBlock(int layer, int block, int slots, int head, float[] p, int pOff, float[] out, int outOff) {
        checkSlots(0, slots);
        Objects.checkIndex(head, layout.kvHeads());
        Objects.checkFromIndexSize(pOff, slots, p.length);
        Objects.checkFromIndexSize(outOff, layout.valueDim(), out.length);
        long base = vRowOffset(layer, block, 0) + head * vHeadBytes;
        KvCodec.addScaledRows(layout.type(), memory, base, vRowBytes, slots, p, pOff, out, outOff, layout.valueDim());
    }

    // ---- offsets ----

    /** Index of (block, slot) among a layer's token slots: K and V rows are stored in this order. */
    private long slotIndex(int layer, int block, int slot) {
        Objects.checkIndex(layer, layout.layers());
        Objects.checkIndex(block, numBlocks);
        Objects.checkIndex(slot, layout.blockSize());
        return (long) block * layout.blockSize() + slot;
    }

    private long kRowOffset(int layer, int block, int slot) {
        return layer * layerBytes + slotIndex(layer, block, slot) * kRowBytes;
    }

    private long vRowOffset(int layer, int block, int slot) {
        return layer * layerBytes + kPartBytes + slotIndex(layer, block, slot) * vRowBytes;
    }

    /** {@code rows}, once checked that they stay inside the layer's slots from (block, slot) on. */
    private long checkRun(int block, int slot, int rows) {
        long first = slotIndex(0, block, slot);
        Objects.checkFromIndexSize(first, rows, (long) numBlocks * layout.blockSize());
        return rows;
    }

    private void checkSlots(int fromSlot, int slots) {
        Objects.checkFromIndexSize(fromSlot, slots, layout.blockSize());
    }

    @Override
    public void close() {
        arena.close();
    }
}
