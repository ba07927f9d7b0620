package io.baton.engine.kv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random arrivals, decode steps, preemptions and aborts against a small pool, with the pool's invariants checked after
 * every operation, and KV content checked on every prefix hit: each position's stored K row names the exact token
 * prefix that produced it, so a block shared by mistake (or evicted while in use) shows up as a wrong row.
 */
class KvCacheManagerPropertyTest {
    private static final int BS = 4;
    private static final int BLOCKS = 24;
    private static final KvLayout LAYOUT = new KvLayout(2, 1, 2, 2, BS, KvType.F32);

    /** A running request: its tokens and how many have KV. */
    private static final class Req {
        int[] tokens;
        int computed;

        Req(int[] tokens) {
            this.tokens = tokens;
        }
    }

    private BlockPool pool;
    private KvCacheManager kv;
    private KvStorage storage;
    private final Map<String, Req> running = new LinkedHashMap<>();
    private final Set<BlockHash> eventIndex = new HashSet<>();
    private long lastSeq;
    private int hits;
    private int preemptions;
    private int refusals;

    @Test
    void randomWorkloadKeepsEveryInvariant() {
        for (long seed : new long[] {1, 2, 3}) run(seed, 4000);
    }

    private void run(long seed, int ops) {
        Random r = new Random(seed);
        pool = new BlockPool(BLOCKS, BS);
        kv = new KvCacheManager(pool);
        running.clear();
        eventIndex.clear();
        lastSeq = 0;
        pool.subscribe(this::onEvent);
        // Three shared "system prompts" make prefix hits common; a 6-token vocabulary makes decode blocks collide too.
        int[][] prefixes = {random(r, 13), random(r, 8), random(r, 21)};
        int next = 0;
        try (KvStorage s = KvStorage.allocate(LAYOUT, BLOCKS)) {
            storage = s;
            for (int op = 0; op < ops; op++) {
                int kind = r.nextInt(10);
                if (kind < 3 || running.isEmpty()) {
                    arrive("r" + next++, r, prefixes);
                } else if (kind < 8) {
                    String id = pick(r);
                    decode(id, r.nextInt(6));
                } else if (kind < 9) {
                    String id = pick(r);
                    running.remove(id);
                    kv.free(id);
                    if (r.nextBoolean()) kv.free(id); // a repeated free must be harmless
                } else {
                    kv.free("unknown-" + op);
                }
                checkInvariants();
            }
            for (String id : new ArrayList<>(running.keySet())) kv.free(id);
            running.clear();
            checkInvariants();
            assertThat(pool.freeBlocks()).isEqualTo(BLOCKS);
            for (int b = 0; b < BLOCKS; b++) assertThat(pool.refCount(b)).isZero();
        }
        // The workload really exercised sharing, eviction and running out.
        assertThat(hits).as("prefix hits").isGreaterThan(50);
        assertThat(preemptions + refusals).as("out-of-blocks cases").isGreaterThan(50);
    }

    private String pick(Random r) {
        int i = r.nextInt(running.size());
        return running.keySet().stream().skip(i).findFirst().orElseThrow();
    }

    private static int[] random(Random r, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(50_000);
        return t;
    }

    /** A new request: a shared prefix cut anywhere, plus a few tokens of its own. */
    private void arrive(String id, Random r, int[][] prefixes) {
        int[] p = prefixes[r.nextInt(prefixes.length)];
        int[] prompt = Arrays.copyOf(p, 1 + r.nextInt(p.length));
        int own = r.nextInt(6);
        prompt = Arrays.copyOf(prompt, prompt.length + own);
        for (int i = prompt.length - own; i < prompt.length; i++) prompt[i] = r.nextInt(6);

        int hit = kv.computedPrefix(id, prompt);
        assertThat(hit % BS).isZero();
        assertThat(hit).isLessThan(prompt.length);
        var table = kv.allocateSlots(id, prompt, hit, prompt.length - hit);
        if (table.isEmpty()) {
            refusals++;
            assertThat(kv.contains(id)).isFalse();
            return;
        }
        if (hit > 0) hits++;
        Req req = new Req(prompt);
        running.put(id, req);
        // The shared blocks already hold exactly this prompt's KV.
        for (int pos = 0; pos < hit; pos++) assertRow(table.get(), prompt, pos);
        compute(id, req, table.get(), hit, prompt.length);
    }

    /** One decode step: the sampled token joins the sequence and its KV is computed. Out of blocks: preempt. */
    private void decode(String id, int token) {
        Req req = running.get(id);
        int[] t = Arrays.copyOf(req.tokens, req.tokens.length + 1);
        t[t.length - 1] = token;
        var table = kv.allocateSlots(id, t, req.computed, 1);
        if (table.isEmpty()) {
            preemptions++;
            running.remove(id);
            kv.free(id);
            return;
        }
        req.tokens = t;
        compute(id, req, table.get(), req.computed, t.length);
    }

    /** "Runs the model" for positions [from, to): writes each position's row, then caches the now-full blocks. */
    private void compute(String id, Req req, BlockTable table, int from, int to) {
        assertThat(table.capacity()).isGreaterThanOrEqualTo(to);
        for (int pos = from; pos < to; pos++) {
            float[] row = expectedRow(req.tokens, pos);
            for (int layer = 0; layer < LAYOUT.layers(); layer++) {
                storage.write(layer, table.blockOf(pos), table.slotOf(pos), row, 0, row, 0);
            }
        }
        req.computed = to;
        kv.cacheFullBlocks(id, req.tokens, to);
        // Every computed position of the request still reads back as its own prefix (no block was stolen).
        for (int pos = 0; pos < to; pos++) assertRow(table, req.tokens, pos);
    }

    /** The "KV" of position pos: a 24-bit fingerprint of tokens[0..pos] (exact in F32) and the position itself. */
    private static float[] expectedRow(int[] tokens, int pos) {
        long h = 1125899906842597L;
        for (int i = 0; i <= pos; i++) h = 31 * h + tokens[i];
        h ^= h >>> 29;
        return new float[] {(float) (h & 0xFFFFFF), pos};
    }

    private void assertRow(BlockTable table, int[] tokens, int pos) {
        float[] want = expectedRow(tokens, pos);
        float[] got = new float[2];
        for (int layer = 0; layer < LAYOUT.layers(); layer++) {
            storage.readK(layer, table.blockOf(pos), table.slotOf(pos), 1, got, 0);
            assertThat(got).as("K of position %d, layer %d", pos, layer).containsExactly(want);
            storage.readV(layer, table.blockOf(pos), table.slotOf(pos), 1, got, 0);
            assertThat(got).as("V of position %d, layer %d", pos, layer).containsExactly(want);
        }
    }

    private void onEvent(KvEvent e) {
        assertThat(e.seq()).isEqualTo(++lastSeq);
        switch (e) {
            case KvEvent.BlockStored s -> {
                for (BlockHash h : s.hashes()) assertThat(eventIndex.add(h)).as("stored twice: %s", h).isTrue();
                if (s.parentHash() != null) assertThat(eventIndex).contains(s.parentHash());
                assertThat(s.tokenIds()).hasSize(s.hashes().size() * BS);
            }
            case KvEvent.BlockRemoved rm -> {
                for (BlockHash h : rm.hashes()) assertThat(eventIndex.remove(h)).as("removed unknown %s", h).isTrue();
            }
            case KvEvent.AllCleared c -> eventIndex.clear();
        }
    }

    private void checkInvariants() {
        int[] refs = new int[BLOCKS];
        Map<Integer, Integer> holders = new HashMap<>();
        for (var e : running.entrySet()) {
            BlockTable t = kv.blockTable(e.getKey());
            assertThat(t.capacity()).isGreaterThanOrEqualTo(e.getValue().computed);
            Set<Integer> own = new HashSet<>();
            for (int i = 0; i < t.size(); i++) {
                int b = t.blockId(i);
                assertThat(own.add(b)).as("block %d twice in one table", b).isTrue();
                refs[b]++;
                holders.merge(b, 1, Integer::sum);
            }
        }
        assertThat(kv.numRequests()).isEqualTo(running.size());
        Set<Integer> queue = new HashSet<>();
        for (int b : pool.freeQueue()) queue.add(b);
        assertThat(queue).hasSize(pool.freeBlocks());
        Set<BlockHash> cachedHashes = new HashSet<>();
        int cachedBlocks = 0;
        for (int b = 0; b < BLOCKS; b++) {
            assertThat(pool.refCount(b)).as("ref count of block %d", b).isEqualTo(refs[b]);
            assertThat(queue.contains(b)).as("block %d in the free queue", b).isEqualTo(refs[b] == 0);
            // A block in two requests is only ever shared through the prefix cache.
            if (holders.getOrDefault(b, 0) > 1) assertThat(pool.hashOf(b)).as("shared block %d", b).isNotNull();
            BlockHash h = pool.hashOf(b);
            if (h != null) {
                assertThat(pool.hashOf(pool.cachedBlock(h))).isEqualTo(h);
                cachedHashes.add(h);
                cachedBlocks++;
            }
        }
        assertThat(pool.cachedBlocks()).isEqualTo(cachedBlocks);
        assertThat(pool.cachedHashes()).isEqualTo(cachedHashes.size());
        assertThat(eventIndex).as("the index built from events").isEqualTo(cachedHashes);
    }

}
