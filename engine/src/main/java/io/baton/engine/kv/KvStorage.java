package io.baton.engine.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The KV memory of a worker: {@code numBlocks} blocks of a {@link KvLayout}, allocated once, off-heap, in one shared
 * arena, and never resized. Block ids are the {@link BlockPool}'s; this class only stores and converts.
 *
 * <p>Layout: layer-major. Layer {@code l} is one contiguous run of {@code numBlocks} (layer, block) slices; slice
 * {@code b} holds the block's K rows then its V rows ({@link KvLayout}). Layer-major keeps every (layer, block) slice
 * contiguous, so the KV transfer can stream layer by layer straight from {@link #blockSegment} without a copy.
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
    private final long sliceBytes;
    private final long layerBytes;
    private final long kRowBytes;
    private final long vRowBytes;
    private final long vOffset;
    private final long kHeadBytes;
    private final long vHeadBytes;

    private KvStorage(KvLayout layout, int numBlocks) {
        this.layout = layout;
        this.numBlocks = numBlocks;
        this.sliceBytes = layout.blockBytesPerLayer();
        this.layerBytes = sliceBytes * numBlocks;
        this.kRowBytes = (long) layout.kRowWidth() * layout.type().bytes;
        this.vRowBytes = (long) layout.vRowWidth() * layout.type().bytes;
        this.vOffset = layout.vOffsetInBlock();
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

    /** All blocks of one layer: {@code numBlocks × blockBytesPerLayer} bytes, block {@code b} at {@code b × blockBytesPerLayer}. */
    public MemorySegment layerSegment(int layer) {
        Objects.checkIndex(layer, layout.layers());
        return memory.asSlice(layer * layerBytes, layerBytes);
    }

    /** One block of one layer: its K rows then its V rows ({@link KvLayout#vOffsetInBlock()}), little-endian. */
    public MemorySegment blockSegment(int layer, int block) {
        return memory.asSlice(sliceOffset(layer, block), sliceBytes);
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
        long base = sliceOffset(layer, block) + head * kHeadBytes;
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
        long base = sliceOffset(layer, block) + vOffset + head * vHeadBytes;
        for (int s = 0; s < slots; s++) {
            KvCodec.addScaled(layout.type(), memory, base + s * vRowBytes, p[pOff + s], out, outOff, layout.valueDim());
        }
    }

    // ---- offsets ----

    private long sliceOffset(int layer, int block) {
        Objects.checkIndex(layer, layout.layers());
        Objects.checkIndex(block, numBlocks);
        return layer * layerBytes + block * sliceBytes;
    }

    private long kRowOffset(int layer, int block, int slot) {
        Objects.checkIndex(slot, layout.blockSize());
        return sliceOffset(layer, block) + slot * kRowBytes;
    }

    private long vRowOffset(int layer, int block, int slot) {
        Objects.checkIndex(slot, layout.blockSize());
        return sliceOffset(layer, block) + vOffset + slot * vRowBytes;
    }

    private void checkSlots(int fromSlot, int slots) {
        Objects.checkFromIndexSize(fromSlot, slots, layout.blockSize());
    }

    @Override
    public void close() {
        arena.close();
    }
}
