package io.baton.engine.kv;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The scheduler's view, in the style of vLLM's tests/v1/core/test_prefix_caching.py: 10 blocks of 4 tokens. */
class KvCacheManagerTest {
    private static final int BS = 4;
    private BlockPool pool;
    private KvCacheManager kv;
    private final List<KvEvent> events = new ArrayList<>();

    @BeforeEach
    void setUp() {
        pool = new BlockPool(10, BS);
        pool.subscribe(events::add);
        kv = new KvCacheManager(pool);
    }

    private static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static final int[] COMMON = IntStream.range(0, 12).toArray(); // three full blocks

    /** Admits a request the way a scheduler does: prefix lookup, then slots for the rest of the prompt. */
    private BlockTable admit(String id, int[] prompt) {
        int hit = kv.computedPrefix(id, prompt);
        BlockTable t = kv.allocateSlots(id, prompt, hit, prompt.length - hit).orElseThrow();
        kv.cacheFullBlocks(id, prompt, prompt.length);
        return t;
    }

    @Test
    void prefillSharesTheCommonPrefix() {
        int[] a = concat(COMMON, 100, 101, 102);
        assertThat(kv.computedPrefix("a", a)).isZero();
        assertThat(kv.allocateSlots("a", a, 0, a.length).orElseThrow().toArray()).containsExactly(0, 1, 2, 3);
        kv.cacheFullBlocks("a", a, a.length);
        assertThat(pool.cachedBlocks()).isEqualTo(3); // the partial block 3 is not cached
        assertThat(events).singleElement().satisfies(e -> assertThat(((KvEvent.BlockStored) e).hashes()).hasSize(3));

        int[] b = concat(COMMON, 200, 201);
        assertThat(kv.computedPrefix("b", b)).isEqualTo(12);
        assertThat(kv.allocateSlots("b", b, 12, 2).orElseThrow().toArray()).containsExactly(0, 1, 2, 4);
        assertThat(pool.refCount(0)).isEqualTo(2);
        assertThat(pool.refCount(2)).isEqualTo(2);
        assertThat(pool.refCount(3)).isEqualTo(1);
        assertThat(kv.usedBlocks()).isEqualTo(5);

        kv.free("a");
        assertThat(pool.freeQueue()).containsExactly(5, 6, 7, 8, 9, 3);
        assertThat(pool.refCount(0)).isEqualTo(1);
        kv.free("b");
        // b's table reversed: 4 first (evicted first), its prefix 0 last.
        assertThat(pool.freeQueue()).containsExactly(5, 6, 7, 8, 9, 3, 4, 2, 1, 0);
        assertThat(kv.freeBlocks()).isEqualTo(10);
        assertThat(pool.cachedBlocks()).isEqualTo(3);

        // A third request hits the free cached prefix: the blocks leave the middle of the queue, ref count 1.
        int[] c = concat(COMMON, 300, 301, 302, 303, 304);
        assertThat(kv.computedPrefix("c", c)).isEqualTo(12);
        assertThat(kv.allocateSlots("c", c, 12, 5).orElseThrow().toArray()).containsExactly(0, 1, 2, 5, 6);
        assertThat(pool.freeQueue()).containsExactly(7, 8, 9, 3, 4);
        assertThat(pool.refCount(1)).isEqualTo(1);
        assertThat(kv.prefixCacheStats()).isEqualTo(new KvCacheManager.PrefixCacheStats(3, 15 + 14 + 17, 24));
        assertThat(kv.prefixCacheStats().hitRate()).isCloseTo(24 / 46.0, org.assertj.core.api.Assertions.within(1e-12));
    }

    @Test
    void aFullyCachedPromptStillComputesItsLastBlock() {
        admit("a", COMMON);
        assertThat(pool.cachedBlocks()).isEqualTo(3);
        kv.free("a");
        // All 12 tokens are cached, but the last token must be computed for its logits: the hit stops a block earlier.
        assertThat(kv.computedPrefix("b", COMMON)).isEqualTo(8);
        assertThat(kv.allocateSlots("b", COMMON, 8, 4).orElseThrow().toArray()).containsExactly(0, 1, 3);
        // Block 2 (the cached copy of tokens 8..11) stays free and cached; b's recomputed block 3 becomes a second copy.
        kv.cacheFullBlocks("b", COMMON, 12);
        assertThat(pool.hashOf(3)).isEqualTo(pool.hashOf(2)).isNotNull();
        assertThat(pool.cachedHashes()).isEqualTo(3);
        assertThat(events).hasSize(1); // the copy is no news to subscribers
        assertThat(kv.computedPrefix("x", new int[] {7})).isZero();
        assertThat(kv.computedPrefix("x", new int[0])).isZero();
    }

    @Test
    void decodeGrowsTheTableOnlyAtBlockBoundaries() {
        int[] t = IntStream.range(0, 6).toArray();
        admit("a", t);
        assertThat(kv.blockTable("a").toArray()).containsExactly(0, 1);
        for (int next = 6; next < 11; next++) {
            t = concat(t, 1000 + next);
            BlockTable table = kv.allocateSlots("a", t, t.length - 1, 1).orElseThrow();
            kv.cacheFullBlocks("a", t, t.length);
            int expectedBlocks = (t.length + BS - 1) / BS;
            assertThat(table.size()).isEqualTo(expectedBlocks);
            assertThat(table.blockOf(t.length - 1)).isEqualTo(expectedBlocks - 1);
            assertThat(table.slotOf(t.length - 1)).isEqualTo((t.length - 1) % BS);
        }
        assertThat(kv.blockTable("a").toArray()).containsExactly(0, 1, 2);
        assertThat(pool.cachedBlocks()).isEqualTo(2); // tokens 0..7 full; 8..10 partial
        // Decode blocks hash like prompt blocks: a new request with the same 8 tokens hits both.
        assertThat(kv.computedPrefix("b", Arrays.copyOf(t, 9))).isEqualTo(8);
    }

    @Test
    void outOfBlocksReturnsEmptyAndAllocatesNothing() {
        admit("a", concat(COMMON, 1, 2, 3, 4, 5));          // blocks 0..4, 0..3 cached
        kv.free("a");                                        // queue 5..9, 4, 3, 2, 1, 0
        admit("big", IntStream.range(500, 520).toArray());   // 5 blocks: takes 5..9
        int[] queueBefore = pool.freeQueue();
        assertThat(queueBefore).containsExactly(4, 3, 2, 1, 0);
        long seqBefore = pool.lastEventSeq();

        // Wants the 3 cached prefix blocks (free) plus 3 new: only 5 free in all, 3 of them the hits themselves.
        int[] c = concat(COMMON, IntStream.range(900, 910).toArray());
        int hit = kv.computedPrefix("c", c);
        assertThat(hit).isEqualTo(12);
        assertThat(kv.allocateSlots("c", c, hit, c.length - hit)).isEmpty();
        assertThat(kv.contains("c")).isFalse();
        assertThat(pool.freeQueue()).containsExactly(queueBefore);
        assertThat(pool.refCount(0)).isZero();
        assertThat(pool.lastEventSeq()).isEqualTo(seqBefore);

        // Exactly enough fits: the 3 hits plus 2 new blocks; block 4's and 3's cached content is evicted. The new blocks
        // come in ascending order (a run of consecutive ids), whatever order the free queue held them in.
        int[] d = concat(COMMON, IntStream.range(900, 906).toArray());
        assertThat(kv.allocateSlots("d", d, 12, 6).orElseThrow().toArray()).containsExactly(0, 1, 2, 3, 4);
        assertThat(kv.freeBlocks()).isZero();
        assertThat(events.getLast()).isInstanceOf(KvEvent.BlockRemoved.class);
        assertThat(((KvEvent.BlockRemoved) events.getLast()).hashes()).hasSize(1); // block 4 was partial, never cached
        assertThat(kv.allocateSlots("e", new int[] {1}, 0, 1)).isEmpty();
        kv.free("d");
        kv.free("big");
        assertThat(kv.freeBlocks()).isEqualTo(10);
    }

    @Test
    void freeIsIdempotentAndUnknownRequestsAreIgnored() {
        admit("a", COMMON);
        kv.free("a");
        kv.free("a");
        kv.free("never");
        assertThat(kv.freeBlocks()).isEqualTo(10);
        assertThat(kv.blockTable("a").size()).isZero();
        assertThat(kv.numRequests()).isZero();
        kv.cacheFullBlocks("never", COMMON, 12); // no-op
    }

    @Test
    void rejectsInconsistentCalls() {
        admit("a", COMMON);
        assertThatThrownBy(() -> kv.computedPrefix("a", COMMON)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> kv.allocateSlots("b", COMMON, 8, 5)).isInstanceOf(IllegalArgumentException.class); // 13 > 12
        assertThatThrownBy(() -> kv.allocateSlots("b", COMMON, 6, 1)).hasMessageContaining("multiple of 4");
        assertThatThrownBy(() -> kv.allocateSlots("a", concat(COMMON, 1, 2, 3, 4, 5), 16, 1)).hasMessageContaining("claims 16");
        // The prefix was evicted between lookup and allocation: the scheduler must look up again.
        kv.free("a");
        int hit = kv.computedPrefix("c", concat(COMMON, 1));
        kv.allocateSlots("filler", IntStream.range(0, 40).toArray(), 0, 40).orElseThrow();
        assertThatThrownBy(() -> kv.allocateSlots("c", concat(COMMON, 1), hit, 1)).hasMessageContaining("still cached");
        assertThat(kv.contains("c")).isFalse();
    }

    @Test
    void withoutPrefixCachingNothingIsSharedOrPublished() {
        KvCacheManager plain = new KvCacheManager(pool, false);
        int[] p = concat(COMMON, 1);
        assertThat(plain.computedPrefix("a", p)).isZero();
        plain.allocateSlots("a", p, 0, p.length).orElseThrow();
        plain.cacheFullBlocks("a", p, p.length);
        assertThat(plain.computedPrefix("b", p)).isZero();
        assertThat(plain.allocateSlots("b", p, 0, p.length).orElseThrow().toArray()).containsExactly(4, 5, 6, 7);
        assertThat(events).isEmpty();
        assertThatThrownBy(() -> plain.allocateSlots("c", p, 4, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void receivedKvIsReservedThenCached() {
        // The decode role: reserve the whole prompt for KV arriving from a prefill worker, cache it once landed.
        int[] p = concat(COMMON, 1, 2);
        BlockTable t = kv.allocateSlots("r", p, 0, p.length).orElseThrow();
        assertThat(t.capacity()).isEqualTo(16);
        assertThat(pool.cachedBlocks()).isZero();
        kv.cacheFullBlocks("r", p, p.length);
        assertThat(pool.cachedBlocks()).isEqualTo(3);
    }
}
