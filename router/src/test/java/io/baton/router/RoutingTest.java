package io.baton.router;

import io.baton.engine.kv.BlockHash;
import io.baton.engine.kv.KvEvent;
import io.baton.worker.scheduler.Role;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Prefix index, routing policies and admission control, on hand-made worker states. */
class RoutingTest {
    static final int BS = 16;

    static WorkerInfo w(String id, Role role, int running, int waiting, int used, int free, long queued) {
        return new WorkerInfo(id, role, true, running, waiting, used, free, BS, queued);
    }

    static WorkerInfo down(WorkerInfo w) {
        return new WorkerInfo(w.id(), w.role(), false, w.running(), w.waiting(), w.kvBlocksUsed(), w.kvBlocksFree(), w.blockSize(), w.queuedPrefillTokens());
    }

    static int[] tokens(int n, int seed) {
        return IntStream.range(0, n).map(i -> (i * 31 + seed) % 500).toArray();
    }

    static RoutingRequest request(int[] tokens) {
        return new RoutingRequest("r", tokens.length, BlockHash.hashes(tokens, BS), BS);
    }

    static KvEvent.BlockStored stored(long seq, BlockHash[] hashes, int from, int to) {
        return new KvEvent.BlockStored(seq, Arrays.asList(hashes).subList(from, to), from == 0 ? null : hashes[from - 1], null, BS);
    }

    @Test
    void prefixIndexMatchesLeadingBlocksPerWorker() {
        PrefixIndex idx = new PrefixIndex();
        BlockHash[] h = BlockHash.hashes(tokens(80, 1), BS); // 5 blocks
        idx.apply("a", stored(1, h, 0, 5));
        idx.apply("b", stored(1, h, 0, 2));
        assertThat(idx.matchedBlocks(h)).isEqualTo(Map.of("a", 5, "b", 2));
        // A different first block shares nothing, even if later tokens agree (hashes are chained).
        int[] other = tokens(80, 1);
        other[0]++;
        assertThat(idx.matchedBlocks(BlockHash.hashes(other, BS))).isEmpty();
        // Eviction of a middle block cuts a's match there.
        idx.apply("a", new KvEvent.BlockRemoved(2, List.of(h[2])));
        assertThat(idx.matchedBlocks(h)).isEqualTo(Map.of("a", 2, "b", 2));
        idx.apply("b", new KvEvent.AllCleared(2));
        assertThat(idx.matchedBlocks(h)).isEqualTo(Map.of("a", 2));
        // A gap in a's sequence numbers (3 is lost) makes the index forget a before applying event 4.
        idx.apply("a", stored(4, h, 4, 5));
        assertThat(idx.matchedBlocks(h)).isEmpty();
        assertThat(idx.size()).isEqualTo(1);
    }

    @Test
    void cacheAwarePrefersTheWorkerHoldingThePrefixUntilItsBacklogOutweighsIt() {
        PrefixIndex idx = new PrefixIndex();
        int[] t = tokens(200, 3);
        BlockHash[] h = BlockHash.hashes(t, BS);
        idx.apply("b", stored(1, h, 0, h.length)); // b holds 12 blocks = 192 tokens
        CacheAwarePolicy p = new CacheAwarePolicy(idx);
        WorkerInfo a = w("a", Role.COLOCATED, 0, 0, 0, 100, 0);
        WorkerInfo b = w("b", Role.COLOCATED, 3, 0, 50, 50, 100);
        RoutingDecision d = p.choose(request(t), List.of(a, b)).orElseThrow();
        // a: 0 queued + 200 uncached = 200; b: 100 queued + 8 uncached = 108.
        assertThat(d.prefill().id()).isEqualTo("b");
        assertThat(d.colocated()).isTrue();
        assertThat(d.reason()).isEqualTo("prefix-hit");
        assertThat(d.cachedTokens()).isEqualTo(192);
        WorkerInfo busyB = w("b", Role.COLOCATED, 3, 0, 50, 50, 1000);
        RoutingDecision d2 = p.choose(request(t), List.of(a, busyB)).orElseThrow();
        assertThat(d2.prefill().id()).isEqualTo("a");
        assertThat(d2.reason()).isEqualTo("least-cost");
        assertThat(p.choose(request(t), List.of(down(a), down(b)))).isEmpty();
    }

    @Test
    void aFullyCachedPromptStillCountsItsLastToken() {
        PrefixIndex idx = new PrefixIndex();
        int[] t = tokens(64, 5);
        BlockHash[] h = BlockHash.hashes(t, BS);
        idx.apply("a", stored(1, h, 0, 4));
        RoutingDecision d = new CacheAwarePolicy(idx).choose(request(t), List.of(w("a", Role.COLOCATED, 0, 0, 0, 10, 0))).orElseThrow();
        assertThat(d.cachedTokens()).isEqualTo(63);
    }

    @Test
    void prefillWorkersArePairedWithTheDecodeWorkerWithMostHeadroom() {
        WorkerInfo p1 = w("p1", Role.PREFILL, 0, 0, 0, 100, 0);
        WorkerInfo d1 = w("d1", Role.DECODE, 10, 0, 80, 20, 0);
        WorkerInfo d2 = w("d2", Role.DECODE, 12, 0, 40, 60, 0);
        RoutingDecision d = new LeastLoadedPolicy().choose(request(tokens(20, 0)), List.of(p1, d1, d2)).orElseThrow();
        assertThat(d.prefill().id()).isEqualTo("p1");
        assertThat(d.decode().id()).isEqualTo("d2");
        assertThat(d.colocated()).isFalse();
        // No decode worker up: no route.
        assertThat(new LeastLoadedPolicy().choose(request(tokens(20, 0)), List.of(p1, down(d1)))).isEmpty();
        // A decode-only worker never prefills.
        assertThat(new RoundRobinPolicy().choose(request(tokens(20, 0)), List.of(d1))).isEmpty();
    }

    @Test
    void leastLoadedAndRoundRobin() {
        WorkerInfo a = w("a", Role.COLOCATED, 4, 1, 10, 90, 0);
        WorkerInfo b = w("b", Role.COLOCATED, 2, 2, 30, 70, 0);
        WorkerInfo c = w("c", Role.COLOCATED, 1, 3, 20, 80, 0);
        assertThat(new LeastLoadedPolicy().choose(request(tokens(5, 0)), List.of(a, b, c)).orElseThrow().prefill().id()).isEqualTo("c");
        RoundRobinPolicy rr = new RoundRobinPolicy();
        List<String> order = IntStream.range(0, 6).mapToObj(i -> rr.choose(request(tokens(5, 0)), List.of(c, a, b)).orElseThrow().prefill().id()).toList();
        assertThat(order).containsExactly("a", "b", "c", "a", "b", "c");
    }

    @Test
    void policiesByName() {
        PrefixIndex idx = new PrefixIndex();
        for (String n : RoutingPolicy.NAMES) assertThat(RoutingPolicy.named(n, idx).name()).isEqualTo(n);
        assertThatThrownBy(() -> RoutingPolicy.named("random", idx)).hasMessageContaining("cache-aware, least-loaded, round-robin");
    }

    @Test
    void admissionPredictsFromBacklogAndMeasuredSpeed() {
        AdmissionControl ac = new AdmissionControl(1.0, 2.0, 0);
        WorkerInfo busy = w("a", Role.COLOCATED, 1, 1, 0, 10, 1000);
        assertThat(ac.predictTtft(busy, 100)).as("unknown speed").isZero();
        assertThat(ac.admits(busy, 100)).isTrue();
        ac.recordPrefill("a", 500, 1.0); // 500 tokens/s
        assertThat(ac.prefillSpeed("a")).isEqualTo(500);
        assertThat(ac.predictTtft(busy, 100)).isEqualTo(2.2, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(ac.admits(busy, 100)).isFalse(); // 2.2 s > 1 s × 2
        assertThat(ac.admits(busy, 0)).isTrue(); // exactly 2 s
        assertThat(ac.admits(w("a", Role.COLOCATED, 0, 0, 0, 10, 0), 100_000)).as("an idle worker always admits").isTrue();
        ac.recordPrefill("a", 1000, 1.0);
        assertThat(ac.prefillSpeed("a")).isEqualTo(500 + AdmissionControl.EWMA_WEIGHT * 500, org.assertj.core.data.Offset.offset(1e-9));
        ac.recordPrefill("a", 0, 1.0); // ignored
        ac.recordPrefill("a", 10, 0); // ignored
        assertThat(ac.prefillSpeed("a")).isEqualTo(600, org.assertj.core.data.Offset.offset(1e-9));
    }
}
