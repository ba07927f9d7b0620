package io.baton.engine.kv;

import java.util.Arrays;

/**
 * A snapshot of one request's blocks: entry {@code i} holds the KV of tokens {@code [i × blockSize, (i+1) × blockSize)}.
 * Immutable; the {@link KvCacheManager} hands out a new one when the table grows.
 */
public final class BlockTable {
    private final int[] blockIds;
    private final int blockSize;

    public BlockTable(int[] blockIds, int blockSize) {
        if (blockSize <= 0) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        this.blockIds = blockIds.clone();
        this.blockSize = blockSize;
    }

    /** Number of blocks. */
    public int size() {
        return blockIds.length;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Tokens the table has room for. */
    public int capacity() {
        return blockIds.length * blockSize;
    }

    /** The id of entry {@code i}. */
    public int blockId(int i) {
        return blockIds[i];
    }

    /** The block holding token position {@code pos}. */
    public int blockOf(int pos) {
        return blockIds[pos / blockSize];
    }

    /** The slot of token position {@code pos} inside its block. */
    public int slotOf(int pos) {
        return pos % blockSize;
    }

    /** A copy of the ids. */
    public int[] toArray() {
        return blockIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockTable t && blockSize == t.blockSize && Arrays.equals(blockIds, t.blockIds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(blockIds) * 31 + blockSize;
    }

    @Override
    public String toString() {
        return "BlockTable" + Arrays.toString(blockIds);
    }
}
