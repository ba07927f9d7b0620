package io.baton.worker.scheduler;

import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.KvCacheManager;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The scheduling policy on tiny pools, with exact decisions asserted. Blocks of 4 tokens. */
class SchedulerTest {

    private static Scheduler scheduler(Role role, int blocks, int budget, int maxRunning) {
        KvCacheManager kv = new KvCacheManager(new BlockPool(blocks, 4), true);
        return new Scheduler(new SchedulerConfig(role, budget, maxRunning), kv);
    }

    private static int[] tokens(int from, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = from + i;
        return t;
    }

    private static int[] sampledAll(SchedulerStep step, int token) {
        int[] s = new int[step.chunks().size()];
        java.util.Arrays.fill(s, token);
        return s;
    }

    @Test
    void decodeFirstThenPromptChunksFcfs() {
        Scheduler s = scheduler(Role.COLOCATED, 64, 10, 8);
        s.add(new Request("a", tokens(100, 6), 5));
        s.add(new Request("b", tokens(200, 7), 5));
        SchedulerStep st = s.schedule();
        // a's whole prompt (6) and the first 4 of b's (budget 10): chunked prefill
        assertThat(st.chunks()).extracting(c -> c.request().id(), ScheduledChunk::start, ScheduledChunk::length, ScheduledChunk::samples)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("a", 0, 6, true), org.assertj.core.groups.Tuple.tuple("b", 0, 4, false));
        s.update(st, sampledAll(st, 1));
        assertThat(s.get("a").numTokens()).isEqualTo(7);
        assertThat(s.get("b").numTokens()).isEqualTo(7);
        st = s.schedule();
        // a decodes (1 token), b finishes its prompt (3 tokens) and samples
        assertThat(st.chunks()).extracting(c -> c.request().id(), ScheduledChunk::start, ScheduledChunk::length, ScheduledChunk::samples)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("a", 6, 1, true), org.assertj.core.groups.Tuple.tuple("b", 4, 3, true));
    }

    @Test
    void maxRunningCapsTheBatch() {
        Scheduler s = scheduler(Role.COLOCATED, 64, 100, 2);
        for (int i = 0; i < 3; i++) s.add(new Request("r" + i, tokens(10 * i, 3), 4));
        SchedulerStep st = s.schedule();
        assertThat(st.chunks()).hasSize(2);
        assertThat(s.numWaiting()).isEqualTo(1);
        s.update(st, sampledAll(st, 7));
        s.finish("r0");
        st = s.schedule();
        assertThat(st.chunks()).extracting(c -> c.request().id()).containsExactly("r1", "r2");
    }

    @Test
    void preemptsTheLatestAdmittedWhenBlocksRunOut() {
        // 4 blocks of 4 tokens: two requests of 7 prompt tokens take 2 blocks each; growing needs a fifth.
        Scheduler s = scheduler(Role.COLOCATED, 4, 100, 8);
        s.add(new Request("old", tokens(0, 7), 10));
        s.add(new Request("new", tokens(50, 7), 10));
        SchedulerStep st = s.schedule();
        assertThat(st.chunks()).hasSize(2);
        s.update(st, sampledAll(st, 9)); // both now have 8 tokens, 7 computed
        st = s.schedule();              // positions 7: still fits in the second block of each
        assertThat(st.preempted()).isEmpty();
        s.update(st, sampledAll(st, 9)); // 9 tokens, 8 computed: the next step needs a third block each
        st = s.schedule();
        assertThat(st.preempted()).extracting(Request::id).containsExactly("new");
        assertThat(st.chunks()).extracting(c -> c.request().id()).containsExactly("old");
        Request preempted = s.get("new");
        assertThat(preempted.status()).isEqualTo(RequestStatus.WAITING);
        assertThat(preempted.numComputed()).isZero();
        assertThat(preempted.numTokens()).isEqualTo(9); // keeps its generated tokens, recomputed later
        assertThat(s.kv().blockTable("new").size()).isZero();
        assertThat(s.waitingIds()).containsExactly("new");
    }

    @Test
    void aRequestThatCannotFitAloneIsPreemptedNotDeadlocked() {
        Scheduler s = scheduler(Role.COLOCATED, 2, 100, 8); // 8 tokens of KV in all
        s.add(new Request("a", tokens(0, 8), 10));
        SchedulerStep st = s.schedule();
        s.update(st, new int[] {1});
        st = s.schedule(); // needs a third block: preempts itself, schedules nothing
        assertThat(st.chunks()).isEmpty();
        assertThat(st.preempted()).extracting(Request::id).containsExactly("a");
        s.finish("a");
        assertThat(s.kv().freeBlocks()).isEqualTo(2);
    }

    @Test
    void prefixCacheHitSkipsComputedBlocks() {
        Scheduler s = scheduler(Role.COLOCATED, 16, 100, 8);
        int[] prompt = tokens(0, 10);
        s.add(new Request("a", prompt, 2));
        SchedulerStep st = s.schedule();
        s.update(st, new int[] {5});
        s.finish("a");
        s.add(new Request("b", prompt, 2));
        st = s.schedule();
        // two full blocks (8 tokens) are cached; b computes only the last 2
        assertThat(st.chunks()).extracting(ScheduledChunk::start, ScheduledChunk::length).containsExactly(org.assertj.core.groups.Tuple.tuple(8, 2));
    }

    @Test
    void prefillRoleHandsOffAfterTheFirstToken() {
        Scheduler s = scheduler(Role.PREFILL, 16, 100, 8);
        s.add(new Request("a", tokens(0, 6), 10));
        SchedulerStep st = s.schedule();
        s.update(st, new int[] {42});
        Request a = s.get("a");
        assertThat(a.status()).isEqualTo(RequestStatus.HANDING_OFF);
        assertThat(a.generated()).containsExactly(42);
        assertThat(s.schedule().isEmpty()).isTrue(); // never decodes
        assertThat(s.kv().usedBlocks()).isEqualTo(2); // held until the KV has left
        s.handoffDone("a");
        assertThat(s.kv().usedBlocks()).isZero();
        assertThat(s.numActive()).isZero();
    }

    @Test
    void decodeRoleReservesThenAdmits() {
        Scheduler s = scheduler(Role.DECODE, 3, 100, 8);
        Request r = new Request("a", tokens(0, 6), 10);
        assertThat(s.reserveRemote(r)).get().extracting(t -> t.size()).isEqualTo(2);
        assertThat(s.schedule().isEmpty()).isTrue(); // not before its KV lands
        s.remoteKvReady("a", 42); // with the first token, sampled by prefill
        SchedulerStep st = s.schedule();
        assertThat(st.chunks()).extracting(ScheduledChunk::start, ScheduledChunk::length, ScheduledChunk::samples)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(6, 1, true));
        Request big = new Request("b", tokens(0, 20), 10);
        assertThat(s.reserveRemote(big)).isEmpty(); // no room: nothing reserved
        assertThat(s.get("b")).isNull();
        s.add(new Request("c", tokens(0, 2), 1)); // a short prompt the decode worker prefills itself
        assertThat(s.schedule().chunks()).extracting(c -> c.request().id()).containsExactly("a", "c");
    }

    @Test
    void finishAnywhereFreesOnce() {
        Scheduler s = scheduler(Role.COLOCATED, 16, 4, 8);
        s.add(new Request("a", tokens(0, 9), 3));
        s.add(new Request("b", tokens(100, 3), 3));
        SchedulerStep st = s.schedule(); // a: chunk of 4 (waiting b stays queued)
        s.finish("b"); // waiting
        s.update(st, new int[] {0});
        s.finish("a"); // running mid-prompt
        s.finish("a"); // again: no-op
        assertThat(s.kv().usedBlocks()).isZero();
        assertThat(s.hasWork()).isFalse();
        assertThat(List.of(s.numRunning(), s.numWaiting(), s.numActive())).containsOnly(0);
    }
}
