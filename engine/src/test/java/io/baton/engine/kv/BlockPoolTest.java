package io.baton.engine.kv;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pool alone, in the style of vLLM's tests/v1/core: a tiny pool, exact ids, counts and queue order. */
class BlockPoolTest {
    private static final int BS = 4;
    private BlockPool pool;
    private final List<KvEvent> events = new ArrayList<>();

    @BeforeEach
    void setUp() {
        pool = new BlockPool(10, BS);
        pool.subscribe(events::add);
    }

    /** Tokens 0..n-1 plus {@code base}. */
    private static int[] tokens(int base, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = base + i;
        return t;
    }

    @Test
    void allocatesFromTheFrontAndFreesToTheBack() {
        assertThat(pool.allocate(3)).containsExactly(0, 1, 2);
        assertThat(pool.refCount(0)).isEqualTo(1);
        assertThat(pool.freeQueue()).containsExactly(3, 4, 5, 6, 7, 8, 9);
        assertThat(pool.allocate(2)).containsExactly(3, 4);
        pool.free(new int[] {2, 0});
        assertThat(pool.freeQueue()).containsExactly(5, 6, 7, 8, 9, 2, 0);
        assertThat(pool.usedBlocks()).isEqualTo(3);
        assertThat(pool.usage()).isEqualTo(0.3);
        assertThat(pool.allocate(6)).containsExactly(5, 6, 7, 8, 9, 2);
        assertThat(pool.freeQueue()).containsExactly(0);
        assertThat(pool.allocate(0)).isEmpty();
        assertThat(events).isEmpty(); // nothing was cached, so nothing was evicted
    }

    @Test
    void runningOutThrowsAndChangesNothing() {
        pool.allocate(8);
        assertThatThrownBy(() -> pool.allocate(3)).isInstanceOf(IllegalStateException.class).hasMessageContaining("only 2 free");
        assertThat(pool.freeQueue()).containsExactly(8, 9);
    }

    @Test
    void doubleFreeThrowsAndChangesNothing() {
        int[] b = pool.allocate(3);
        pool.free(new int[] {b[1]});
        assertThatThrownBy(() -> pool.free(new int[] {b[0], b[1]})).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("block 1 is already free");
        assertThat(pool.refCount(0)).isEqualTo(1); // the decrement of block 0 was rolled back
        assertThat(pool.freeQueue()).containsExactly(3, 4, 5, 6, 7, 8, 9, 1);
        // The same block twice in one call with a single reference is a double free too.
        assertThatThrownBy(() -> pool.free(new int[] {2, 2})).isInstanceOf(IllegalStateException.class);
        assertThat(pool.refCount(2)).isEqualTo(1);
        assertThatThrownBy(() -> pool.free(new int[] {10})).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void sharedBlocksAreFreedWhenTheLastReferenceGoes() {
        int[] b = pool.allocate(2);
        BlockHash[] h = BlockHash.hashes(tokens(0, 8), BS);
        pool.cacheFullBlocks(b, h, 0, 2, tokens(0, 8));
        pool.touch(b);
        assertThat(pool.refCount(0)).isEqualTo(2);
        pool.free(new int[] {1, 0});
        assertThat(pool.refCount(0)).isEqualTo(1);
        assertThat(pool.isFree(0)).isFalse();
        pool.free(new int[] {1, 0});
        assertThat(pool.freeQueue()).containsExactly(2, 3, 4, 5, 6, 7, 8, 9, 1, 0);
        assertThat(pool.cachedBlocks()).isEqualTo(2); // free, but still cached
    }

    @Test
    void cachingPublishesChainedStoredEvents() {
        int[] t = tokens(100, 12);
        BlockHash[] h = BlockHash.hashes(t, BS);
        int[] b = pool.allocate(3);
        assertThat(pool.cacheFullBlocks(b, h, 0, 2, t)).isEqualTo(2);
        assertThat(pool.cacheFullBlocks(b, h, 0, 3, t)).isEqualTo(1); // 0 and 1 are already cached under the same hash
        assertThat(events).hasSize(2);
        var first = (KvEvent.BlockStored) events.get(0);
        assertThat(first.seq()).isEqualTo(1);
        assertThat(first.hashes()).containsExactly(h[0], h[1]);
        assertThat(first.parentHash()).isNull();
        assertThat(first.tokenIds()).containsExactly(tokens(100, 8));
        assertThat(first.blockSize()).isEqualTo(BS);
        var second = (KvEvent.BlockStored) events.get(1);
        assertThat(second.seq()).isEqualTo(2);
        assertThat(second.hashes()).containsExactly(h[2]);
        assertThat(second.parentHash()).isEqualTo(h[1]);
        assertThat(second.tokenIds()).containsExactly(108, 109, 110, 111);
        assertThat(pool.hashOf(2)).isEqualTo(h[2]);
        assertThat(pool.cachedBlock(h[1])).isEqualTo(1);
        assertThat(pool.lastEventSeq()).isEqualTo(2);
    }

    @Test
    void copiesOfOneContentShareAHashUntilTheLastIsEvicted() {
        int[] t = tokens(0, 12);
        BlockHash[] h = BlockHash.hashes(t, BS);
        int[] a = pool.allocate(1);
        pool.cacheFullBlocks(new int[] {a[0], -1, -1}, h, 0, 1, t);       // block 0 under h[0]
        int[] other = pool.allocate(1);                                     // block 1 under h[1], by another request
        pool.cacheFullBlocks(new int[] {-1, other[0]}, h, 1, 2, t);
        events.clear();
        int[] b = pool.allocate(3);                                         // 2, 3, 4: computed the same h[0..2]
        assertThat(pool.cacheFullBlocks(b, h, 0, 3, t)).isEqualTo(3);
        assertThat(pool.hashOf(2)).isEqualTo(h[0]);
        assertThat(pool.hashOf(4)).isEqualTo(h[2]);
        assertThat(pool.cachedBlocks()).isEqualTo(5);
        assertThat(pool.cachedHashes()).isEqualTo(3);
        // Only h[2] is new to the cache: one event, its parent already known to subscribers.
        assertThat(events).singleElement().satisfies(e -> {
            var s = (KvEvent.BlockStored) e;
            assertThat(s.hashes()).containsExactly(h[2]);
            assertThat(s.parentHash()).isEqualTo(h[1]);
        });
        assertThat(pool.lookupPrefix(h)).containsExactly(0, 1, 4);

        // Block 0 is freed and evicted: h[0] lives on in block 2, so no event, and lookups find block 2.
        pool.free(a);
        pool.free(other);
        events.clear();
        assertThat(pool.allocate(6)).containsExactly(5, 6, 7, 8, 9, 0);
        assertThat(events).isEmpty();
        assertThat(pool.lookupPrefix(h)).containsExactly(2, 3, 4); // block 3 is in use, block 1 free: 3 preferred
        // Evicting the last copy of h[1] publishes its removal.
        pool.free(new int[] {3});
        assertThat(pool.freeQueue()).containsExactly(1, 3);
        pool.allocate(2);
        assertThat(events).singleElement().isEqualTo(new KvEvent.BlockRemoved(pool.lastEventSeq(), List.of(h[1])));
        assertThat(pool.lookupPrefix(h)).containsExactly(2);
    }

    @Test
    void cachingRejectsFreeBlocksAndChangedContent() {
        int[] t = tokens(0, 8);
        BlockHash[] h = BlockHash.hashes(t, BS);
        assertThatThrownBy(() -> pool.cacheFullBlocks(new int[] {0}, h, 0, 1, t)).hasMessageContaining("free block 0");
        int[] b = pool.allocate(1);
        pool.cacheFullBlocks(b, h, 0, 1, t);
        assertThatThrownBy(() -> pool.cacheFullBlocks(new int[] {b[0], b[0]}, new BlockHash[] {h[1], h[1]}, 0, 1, t))
                .hasMessageContaining("is cached as");
        assertThatThrownBy(() -> pool.cacheFullBlocks(b, h, 0, 1, new int[3])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void evictionIsOldestFreedFirstAndPublishesRemovedEvents() {
        int[] t = tokens(0, 16);
        BlockHash[] h = BlockHash.hashes(t, BS);
        int[] b = pool.allocate(4);                         // 0 1 2 3
        pool.cacheFullBlocks(b, h, 0, 4, t);
        pool.free(new int[] {3, 2, 1, 0});                  // a request frees its tail first
        assertThat(pool.freeQueue()).containsExactly(4, 5, 6, 7, 8, 9, 3, 2, 1, 0);
        events.clear();
        assertThat(pool.allocate(6)).containsExactly(4, 5, 6, 7, 8, 9); // uncached blocks first: nothing evicted
        assertThat(events).isEmpty();
        assertThat(pool.allocate(2)).containsExactly(3, 2);   // seq 1 was the BlockStored of all four
        assertThat(events).singleElement().isEqualTo(new KvEvent.BlockRemoved(2, List.of(h[3], h[2])));
        assertThat(pool.hashOf(3)).isNull();
        assertThat(pool.cachedBlocks()).isEqualTo(2);
        assertThat(pool.lookupPrefix(h)).containsExactly(0, 1); // the prefix survives its evicted tail
        pool.allocate(1);
        assertThat(events.get(1)).isEqualTo(new KvEvent.BlockRemoved(3, List.of(h[1])));
        assertThat(pool.lookupPrefix(h)).containsExactly(0); // the chain breaks at the first miss
    }

    @Test
    void touchTakesFreeCachedBlocksOutOfTheQueue() {
        int[] t = tokens(0, 8);
        BlockHash[] h = BlockHash.hashes(t, BS);
        int[] b = pool.allocate(2);
        pool.cacheFullBlocks(b, h, 0, 2, t);
        pool.free(new int[] {1, 0});
        assertThat(pool.freeQueue()).containsExactly(2, 3, 4, 5, 6, 7, 8, 9, 1, 0);
        int[] hit = pool.lookupPrefix(h);
        assertThat(hit).containsExactly(0, 1);
        pool.touch(hit);
        assertThat(pool.freeQueue()).containsExactly(2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(pool.refCount(0)).isEqualTo(1);
        pool.touch(new int[] {0});
        assertThat(pool.refCount(0)).isEqualTo(2);
        assertThatThrownBy(() -> pool.touch(new int[] {5})).hasMessageContaining("free and not cached");
        assertThat(pool.refCount(5)).isZero();
    }

    @Test
    void resetClearsOnlyWhenNothingIsInUse() {
        int[] t = tokens(0, 4);
        int[] b = pool.allocate(1);
        pool.cacheFullBlocks(b, BlockHash.hashes(t, BS), 0, 1, t);
        assertThat(pool.resetPrefixCache()).isFalse();
        assertThat(pool.cachedBlocks()).isEqualTo(1);
        pool.free(b);
        assertThat(pool.resetPrefixCache()).isTrue();
        assertThat(pool.cachedBlocks()).isZero();
        assertThat(pool.hashOf(0)).isNull();
        assertThat(events.getLast()).isEqualTo(new KvEvent.AllCleared(2));
    }

    @Test
    void closedSubscriptionsHearNothing() {
        List<KvEvent> late = new ArrayList<>();
        BlockPool.Subscription s = pool.subscribe(late::add);
        int[] t = tokens(0, 4);
        int[] b = pool.allocate(1);
        pool.cacheFullBlocks(b, BlockHash.hashes(t, BS), 0, 1, null);
        s.close();
        pool.free(b);
        pool.resetPrefixCache();
        assertThat(late).singleElement().satisfies(e -> assertThat(((KvEvent.BlockStored) e).tokenIds()).isNull());
        assertThat(events).hasSize(2);
    }
}
