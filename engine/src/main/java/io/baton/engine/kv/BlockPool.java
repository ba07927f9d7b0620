package io.baton.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Block ids {@code 0 .. numBlocks-1}, their reference counts and the prefix cache: the mechanism under the scheduler's
 * policy, after vLLM v1's {@code BlockPool} (vllm/v1/core/block_pool.py).
 *
 * <ul>
 *   <li>A block is <b>in use</b> while its reference count is positive (one reference per request table holding it).
 *   <li>A block with count 0 is <b>free</b> and sits in the free queue in eviction order: {@link #allocate} takes from the
 *       front, {@link #free} appends at the back. A free block may still be <b>cached</b> (mapped from its
 *       {@link BlockHash}): its KV stays valid and a prefix hit takes it back ({@link #touch}) until allocation reaches it
 *       and evicts it, oldest first.
 *   <li>Only full blocks are cached. Two blocks may hold the same content (two requests computed the same prefix
 *       before either was cached): both are kept under the hash, as in vLLM, so block tables never change under a
 *       request. A hash stays cached until its last copy is evicted; events describe hashes, not copies, so a
 *       subscriber's index equals the set of cached hashes exactly, and a stored child's parent hash is always cached
 *       (its holder holds a copy of the parent).
 *   <li>Unlike vLLM, no block is reserved as a "null block": vLLM needs one for sliding-window and padding entries,
 *       which our model families do not have. Every id is usable.
 * </ul>
 *
 * <p>Not thread-safe: one scheduler thread owns a pool. Events go to subscribers synchronously on that thread, in
 * sequence order; a subscriber that needs another thread should hand them over to a queue.
 */
public final class BlockPool {
    private final int numBlocks;
    private final int blockSize;
    private final int[] refCount;
    private final BlockHash[] hashOf;
    /** Hash → the blocks holding that content (almost always one; see the class comment). */
    private final Map<BlockHash, int[]> cached = new HashMap<>();
    private int cachedBlockCount;
    private final FreeBlockQueue freeQueue;
    private final List<Consumer<KvEvent>> subscribers = new CopyOnWriteArrayList<>();
    private long lastSeq;

    public BlockPool(int numBlocks, int blockSize) {
        if (numBlocks <= 0) throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        if (blockSize <= 0) throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.refCount = new int[numBlocks];
        this.hashOf = new BlockHash[numBlocks];
        this.freeQueue = new FreeBlockQueue(numBlocks);
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Blocks that {@link #allocate} can hand out now (free ones, cached or not). */
    public int freeBlocks() {
        return freeQueue.size();
    }

    /** Blocks held by at least one request. */
    public int usedBlocks() {
        return numBlocks - freeQueue.size();
    }

    /** Fraction of blocks in use, 0 to 1 (cached free blocks count as free: they are reclaimable). */
    public double usage() {
        return (double) usedBlocks() / numBlocks;
    }

    /** Blocks mapped in the prefix cache, in use or free (copies of one content counted apart). */
    public int cachedBlocks() {
        return cachedBlockCount;
    }

    /** Distinct contents in the prefix cache: what a subscriber's index holds. */
    public int cachedHashes() {
        return cached.size();
    }

    // ---- allocation ----

    /**
     * Takes {@code n} blocks from the front of the free queue, each with reference count 1. Popped blocks that were
     * cached lose their hash; hashes whose last copy this was are evicted (one {@link KvEvent.BlockRemoved} lists
     * them all, in eviction order).
     *
     * @throws IllegalStateException if fewer than {@code n} blocks are free (check {@link #freeBlocks()} first)
     */
    public int[] allocate(int n) {
        if (n < 0) throw new IllegalArgumentException("cannot allocate " + n + " blocks");
        if (n > freeQueue.size()) throw new IllegalStateException("asked for " + n + " blocks, only " + freeQueue.size() + " free");
        int[] out = new int[n];
        List<BlockHash> evicted = null;
        for (int i = 0; i < n; i++) {
            int b = freeQueue.popFirst();
            BlockHash h = hashOf[b];
            if (h != null && uncache(b, h)) {
                if (evicted == null) evicted = new ArrayList<>();
                evicted.add(h);
            }
            refCount[b] = 1;
            out[i] = b;
        }
        if (evicted != null) publish(new KvEvent.BlockRemoved(++lastSeq, evicted));
        return out;
    }

    /**
     * Drops one reference from each block; blocks reaching 0 join the back of the free queue in the given order, so
     * list them by eviction priority, first evicted first (a request frees its table in reverse: its tail, the least
     * shared part, goes first). All or nothing: if any block is already free, nothing changes.
     *
     * @throws IllegalStateException if a block's count is already 0 (it would be freed twice)
     */
    public void free(int[] blocks) {
        for (int b : blocks) Objects.checkIndex(b, numBlocks);
        for (int i = 0; i < blocks.length; i++) {
            int b = blocks[i];
            if (refCount[b] == 0) {
                for (int j = 0; j < i; j++) refCount[blocks[j]]++;
                throw new IllegalStateException("block " + b + " is already free (freed twice?)");
            }
            refCount[b]--;
        }
        for (int b : blocks) {
            if (refCount[b] == 0 && !freeQueue.contains(b)) freeQueue.append(b);
        }
    }

    /**
     * Adds one reference to each block (a request reusing cached prefix blocks); a free cached block leaves the free
     * queue, so it cannot be evicted while used.
     *
     * @throws IllegalStateException if a block is free and not cached (its content is garbage; nobody may share it)
     */
    public void touch(int[] blocks) {
        for (int b : blocks) {
            Objects.checkIndex(b, numBlocks);
            if (refCount[b] == 0 && hashOf[b] == null) throw new IllegalStateException("block " + b + " is free and not cached");
        }
        for (int b : blocks) {
            if (refCount[b] == 0) freeQueue.remove(b);
            refCount[b]++;
        }
    }

    // ---- prefix cache ----

    /**
     * Registers full blocks {@code blocks[from .. to)} under {@code hashes[from .. to)} (index i of both arrays is block
     * i of one sequence, so {@code hashes[from - 1]} is the parent of the first). Blocks already cached under the same
     * hash are skipped; a block whose hash another block already holds becomes a second copy. Publishes one
     * {@link KvEvent.BlockStored} per run of hashes new to the cache.
     *
     * @param tokens the sequence's tokens (block i is {@code tokens[i × blockSize ..]}) for the events, or null
     * @return how many blocks were newly cached (copies included)
     * @throws IllegalStateException if a block is free, or already cached under a different hash
     */
    public int cacheFullBlocks(int[] blocks, BlockHash[] hashes, int from, int to, int[] tokens) {
        Objects.checkFromToIndex(from, to, Math.min(blocks.length, hashes.length));
        if (tokens != null && (long) to * blockSize > tokens.length) {
            throw new IllegalArgumentException(to + " full blocks need " + (long) to * blockSize + " tokens, got " + tokens.length);
        }
        for (int i = from; i < to; i++) {
            int b = blocks[i];
            Objects.checkIndex(b, numBlocks);
            if (refCount[b] == 0) throw new IllegalStateException("cannot cache free block " + b);
            if (hashOf[b] != null && !hashOf[b].equals(hashes[i])) {
                throw new IllegalStateException("block " + b + " is cached as " + hashOf[b] + ", not " + hashes[i]);
            }
        }
        int stored = 0;
        int runStart = -1;
        for (int i = from; i <= to; i++) {
            boolean newHash = false;
            if (i < to && hashOf[blocks[i]] == null) {
                int[] copies = cached.get(hashes[i]);
                newHash = copies == null;
                cached.put(hashes[i], copies == null ? new int[] {blocks[i]} : append(copies, blocks[i]));
                hashOf[blocks[i]] = hashes[i];
                cachedBlockCount++;
                stored++;
            }
            if (newHash) {
                if (runStart < 0) runStart = i;
            } else if (runStart >= 0) {
                publishStored(hashes, runStart, i, tokens);
                runStart = -1;
            }
        }
        return stored;
    }

    private void publishStored(BlockHash[] hashes, int from, int to, int[] tokens) {
        int[] runTokens = null;
        if (tokens != null) {
            runTokens = new int[(to - from) * blockSize];
            System.arraycopy(tokens, from * blockSize, runTokens, 0, runTokens.length);
        }
        BlockHash parent = from == 0 ? null : hashes[from - 1];
        publish(new KvEvent.BlockStored(++lastSeq, List.of(hashes).subList(from, to), parent, runTokens, blockSize));
    }

    /** Removes block b (holding hash h) from the cache; true if it was h's last copy (h is evicted). */
    private boolean uncache(int b, BlockHash h) {
        int[] copies = cached.get(h);
        hashOf[b] = null;
        cachedBlockCount--;
        if (copies.length == 1) {
            cached.remove(h);
            return true;
        }
        int[] rest = new int[copies.length - 1];
        for (int i = 0, j = 0; i < copies.length; i++) if (copies[i] != b) rest[j++] = copies[i];
        cached.put(h, rest);
        return false;
    }

    private static int[] append(int[] a, int x) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = x;
        return out;
    }

    /**
     * The cached blocks of the longest prefix of {@code hashes} found, in order (nothing is reserved: see
     * {@link #touch}). Where a content has several copies, one in use is preferred, so a hit takes no block out of the
     * free queue that it need not.
     */
    public int[] lookupPrefix(BlockHash[] hashes) {
        int n = 0;
        while (n < hashes.length && cached.containsKey(hashes[n])) n++;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = cachedBlock(hashes[i]);
        return out;
    }

    /** A block cached under {@code hash} (one in use if there is one), or -1. */
    public int cachedBlock(BlockHash hash) {
        int[] copies = cached.get(hash);
        if (copies == null) return -1;
        for (int b : copies) if (refCount[b] > 0) return b;
        return copies[0];
    }

    /**
     * Forgets every cached hash (e.g. after the model's weights changed). Only possible when no block is in use, as in
     * vLLM's {@code reset_prefix_cache}; publishes {@link KvEvent.AllCleared}.
     *
     * @return false (and nothing changes) if some block is in use
     */
    public boolean resetPrefixCache() {
        if (usedBlocks() > 0) return false;
        cached.clear();
        cachedBlockCount = 0;
        Arrays.fill(hashOf, null);
        publish(new KvEvent.AllCleared(++lastSeq));
        return true;
    }

    // ---- inspection ----

    public int refCount(int block) {
        return refCount[Objects.checkIndex(block, numBlocks)];
    }

    /** The hash a block is cached under, or null. */
    public BlockHash hashOf(int block) {
        return hashOf[Objects.checkIndex(block, numBlocks)];
    }

    public boolean isFree(int block) {
        return freeQueue.contains(Objects.checkIndex(block, numBlocks));
    }

    /** The free queue front (next evicted) to back; O(numBlocks), for tests and diagnostics. */
    public int[] freeQueue() {
        return freeQueue.toArray();
    }

    // ---- events ----

    /** A subscription to a pool's events; closing it stops delivery. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Delivers every later event to {@code subscriber}, on the pool's thread, after the pool's state has changed. A
     * subscriber must not throw (its exception would reach the pool's caller) and must not call back into the pool.
     */
    public Subscription subscribe(Consumer<KvEvent> subscriber) {
        Objects.requireNonNull(subscriber);
        subscribers.add(subscriber);
        return () -> subscribers.remove(subscriber);
    }

    /** Sequence number of the last event published (0 before the first). */
    public long lastEventSeq() {
        return lastSeq;
    }

    private void publish(KvEvent e) {
        for (Consumer<KvEvent> s : subscribers) s.accept(e);
    }
}
