package io.baton.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The boundary the scheduler talks to, after vLLM v1's {@code KVCacheManager} (vllm/v1/core/kv_cache_manager.py): it
 * owns one block table per request id and turns "this request computes N more tokens" into blocks from the
 * {@link BlockPool}. Policy (who runs, who is preempted) stays with the scheduler.
 *
 * <p>A step for a request, in order: {@link #computedPrefix} once while it waits (how many prompt tokens the prefix
 * cache already holds), {@link #allocateSlots} before each forward step, {@link #cacheFullBlocks} after it, and
 * {@link #free} exactly when it finishes, aborts or is preempted. Each block reference a request holds is dropped once,
 * by {@link #free}: the table is removed before its blocks are released, so a second {@code free} finds nothing.
 *
 * <p>Not thread-safe, like the pool it drives.
 */
public final class KvCacheManager {
    private final BlockPool pool;
    private final int blockSize;
    private final boolean prefixCaching;
    private final Map<String, Entry> requests = new HashMap<>();
    private long lookups;
    private long queriedTokens;
    private long hitTokens;

    /**
     * Prefix-cache effectiveness since the manager was made, for metrics (vLLM's {@code PrefixCacheStats}).
     *
     * @param lookups       {@link #computedPrefix} calls
     * @param queriedTokens prompt tokens looked up
     * @param hitTokens     of those, tokens found cached
     */
    public record PrefixCacheStats(long lookups, long queriedTokens, long hitTokens) {
        /** Fraction of queried tokens that were cached (0 before any lookup). */
        public double hitRate() {
            return queriedTokens == 0 ? 0 : (double) hitTokens / queriedTokens;
        }
    }

    /** A request's blocks and the chained hashes of its full blocks computed so far. */
    private static final class Entry {
        int[] blocks = new int[0];
        BlockHash[] hashes = new BlockHash[0];
        /** Leading blocks already offered to the prefix cache. */
        int numCached;
    }

    /** A manager with prefix caching on. */
    public KvCacheManager(BlockPool pool) {
        this(pool, true);
    }

    public KvCacheManager(BlockPool pool, boolean prefixCaching) {
        this.pool = pool;
        this.blockSize = pool.blockSize();
        this.prefixCaching = prefixCaching;
    }

    public BlockPool pool() {
        return pool;
    }

    /**
     * How many leading tokens of a waiting request's {@code tokens} are already in the prefix cache: a multiple of the
     * block size, and always less than {@code tokens.length}, because the last token must be computed to get logits
     * (vLLM's rule; when the whole prompt is cached, its last block is recomputed). Reserves nothing: call
     * {@link #allocateSlots} with this count right after, in the same scheduling step.
     *
     * @throws IllegalStateException if the request already holds blocks
     */
    public int computedPrefix(String requestId, int[] tokens) {
        if (requests.containsKey(requestId)) throw new IllegalStateException("request " + requestId + " already holds blocks");
        if (!prefixCaching || tokens.length == 0) return 0;
        int maxBlocks = (tokens.length - 1) / blockSize;
        BlockHash[] hashes = BlockHash.extend(new BlockHash[0], tokens, blockSize, null, maxBlocks);
        int hit = pool.lookupPrefix(hashes).length * blockSize;
        lookups++;
        queriedTokens += tokens.length;
        hitTokens += hit;
        return hit;
    }

    public PrefixCacheStats prefixCacheStats() {
        return new PrefixCacheStats(lookups, queriedTokens, hitTokens);
    }

    /**
     * Makes room for {@code allTokens[numComputedTokens .. numComputedTokens + numNewTokens)}: appends blocks to the
     * request's table (a new request first takes the cached prefix blocks covering its first {@code numComputedTokens}
     * tokens, as {@link #computedPrefix} found them). All or nothing.
     *
     * @param allTokens         the request's tokens so far (prompt and generated); only read, not kept
     * @param numComputedTokens tokens whose KV exists (for a new request: the prefix-cache hit, or 0)
     * @param numNewTokens      tokens this step computes (or receives from a prefill worker)
     * @return the grown table, or empty if the pool has too few free blocks (then nothing changed)
     * @throws IllegalStateException if a new request's prefix blocks were evicted since {@link #computedPrefix}
     */
    public Optional<BlockTable> allocateSlots(String requestId, int[] allTokens, int numComputedTokens, int numNewTokens) {
        if (numComputedTokens < 0 || numNewTokens < 0 || (long) numComputedTokens + numNewTokens > allTokens.length) {
            throw new IllegalArgumentException("request " + requestId + ": cannot compute tokens [" + numComputedTokens + ", "
                    + ((long) numComputedTokens + numNewTokens) + ") of " + allTokens.length);
        }
        Entry e = requests.get(requestId);
        int[] hits = new int[0];
        BlockHash[] hitHashes = new BlockHash[0];
        if (e == null && numComputedTokens > 0) {
            if (!prefixCaching || numComputedTokens % blockSize != 0) {
                throw new IllegalArgumentException("request " + requestId + " is new: its " + numComputedTokens
                        + " computed tokens must be a prefix-cache hit (a multiple of " + blockSize + " from computedPrefix)");
            }
            hitHashes = BlockHash.extend(hitHashes, allTokens, blockSize, null, numComputedTokens / blockSize);
            hits = pool.lookupPrefix(hitHashes);
            if (hits.length < hitHashes.length) {
                throw new IllegalStateException("request " + requestId + ": only " + hits.length * blockSize + " of "
                        + numComputedTokens + " prefix tokens are still cached; call computedPrefix again");
            }
        }
        int held = e == null ? 0 : e.blocks.length;
        if (e != null && numComputedTokens > held * blockSize) {
            throw new IllegalArgumentException("request " + requestId + " has room for " + held * blockSize
                    + " tokens but claims " + numComputedTokens + " computed");
        }
        int needed = Math.ceilDiv(numComputedTokens + numNewTokens, blockSize);
        int toAllocate = Math.max(0, needed - held - hits.length);
        int freeHits = 0;
        for (int b : hits) if (pool.refCount(b) == 0) freeHits++;
        if (toAllocate > pool.freeBlocks() - freeHits) return Optional.empty();

        if (e == null) {
            e = new Entry();
            e.hashes = hitHashes;
            e.numCached = hits.length;
            requests.put(requestId, e);
        }
        pool.touch(hits);
        int[] fresh = pool.allocate(toAllocate);
        // The pool hands out blocks in eviction order, and a finished request frees its table tail first, so blocks
        // often come back in descending runs. Fresh blocks hold nothing yet: any order in the table is as good, and
        // ascending ids make runs of consecutive blocks, whose K and V rows are contiguous in KvStorage (the KV transfer
        // moves a run with one copy for K and one for V, instead of two per block).
        Arrays.sort(fresh);
        int[] grown = Arrays.copyOf(e.blocks, held + hits.length + fresh.length);
        System.arraycopy(hits, 0, grown, held, hits.length);
        System.arraycopy(fresh, 0, grown, held + hits.length, fresh.length);
        e.blocks = grown;
        return Optional.of(new BlockTable(grown, blockSize));
    }

    /**
     * After a step: offers the request's blocks that are now full of computed KV to the prefix cache (publishing
     * {@link KvEvent.BlockStored}). Does nothing for an unknown request or with prefix caching off.
     *
     * @param allTokens         the request's tokens (the same sequence given to {@link #allocateSlots})
     * @param numComputedTokens tokens whose KV is now in the request's blocks
     */
    public void cacheFullBlocks(String requestId, int[] allTokens, int numComputedTokens) {
        Entry e = requests.get(requestId);
        if (e == null || !prefixCaching) return;
        if (numComputedTokens < 0 || numComputedTokens > allTokens.length) {
            throw new IllegalArgumentException("request " + requestId + ": " + numComputedTokens + " computed of " + allTokens.length + " tokens");
        }
        int full = Math.min(numComputedTokens / blockSize, e.blocks.length);
        if (full <= e.numCached) return;
        e.hashes = BlockHash.extend(e.hashes, allTokens, blockSize, null, full);
        pool.cacheFullBlocks(e.blocks, e.hashes, e.numCached, full, allTokens);
        e.numCached = full;
    }

    /** The request's current table (empty for an unknown request). */
    public BlockTable blockTable(String requestId) {
        Entry e = requests.get(requestId);
        return new BlockTable(e == null ? new int[0] : e.blocks, blockSize);
    }

    /** Whether the request holds a table. */
    public boolean contains(String requestId) {
        return requests.containsKey(requestId);
    }

    /** Requests holding a table. */
    public int numRequests() {
        return requests.size();
    }

    /**
     * Releases the request's blocks, last block first so that its tail, the part least likely to be shared, is evicted
     * before its prefix (vLLM frees in reverse for the same reason). Unknown requests are ignored, so a repeated free is
     * harmless.
     */
    public void free(String requestId) {
        Entry e = requests.remove(requestId);
        if (e == null) return;
        int n = e.blocks.length;
        int[] reversed = new int[n];
        for (int i = 0; i < n; i++) reversed[i] = e.blocks[n - 1 - i];
        pool.free(reversed);
    }

    public int freeBlocks() {
        return pool.freeBlocks();
    }

    public int usedBlocks() {
        return pool.usedBlocks();
    }

    /** Fraction of blocks in use, 0 to 1. */
    public double usage() {
        return pool.usage();
    }
}
