package io.baton.router.bench;

import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.router.WorkerInfo;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class ScriptedWorkerClientTest {

    /** Records what a worker hands over, and when the listener saw it. */
    static final class Recorder implements OutputListener {
        final List<String> texts = new CopyOnWriteArrayList<>();
        final List<Long> seenNanos = new CopyOnWriteArrayList<>();
        final List<Integer> ids = new CopyOnWriteArrayList<>();
        final CompletableFuture<String> finish = new CompletableFuture<>();
        final CountDownLatch firstToken = new CountDownLatch(1);

        @Override
        public void onToken(int token, String text) {
            seenNanos.add(System.nanoTime());
            ids.add(token);
            texts.add(text);
            firstToken.countDown();
        }

        @Override
        public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
            finish.complete(reason.wireName() + ":" + text + ":" + promptTokens + ":" + completionTokens);
        }

        @Override
        public void onError(String message) {
            finish.complete("error:" + message);
        }
    }

    static GenerationRequest request(String id, int maxTokens) {
        return new GenerationRequest(id, new int[]{1, 2, 3}, SamplingParams.builder().maxTokens(maxTokens).build());
    }

    /** {seq, k, nanos} of a token text SEQ:K:NANOS; */
    static long[] stamp(String text) {
        assertThat(text).matches("[0-9]+:[0-9]+:-?[0-9]+;");
        String[] f = text.substring(0, text.length() - 1).split(":");
        return new long[]{Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])};
    }

    @Test
    void emitsExactlyMaxTokensStampedWithTheirHandOverTimeThenFinishesWithLength() throws Exception {
        try (ScriptedWorkerClient w = new ScriptedWorkerClient("w", 2, 1, new AtomicLong(7))) {
            Recorder r = new Recorder();
            long before = System.nanoTime();
            w.submit(request("a", 12), r);
            assertThat(r.finish.get(20, TimeUnit.SECONDS)).isEqualTo("length::3:12");
            assertThat(r.texts).hasSize(12);
            assertThat(r.ids).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
            long prev = before;
            for (int k = 0; k < 12; k++) {
                long[] s = stamp(r.texts.get(k));
                assertThat(s[0]).isEqualTo(7);
                assertThat(s[1]).isEqualTo(k);
                // Stamped before the hand-over, never earlier than its deadline (submit + ttft + k itl), in order.
                assertThat(s[2]).isBetween(prev, r.seenNanos.get(k));
                assertThat(s[2] - before).isGreaterThanOrEqualTo(2_000_000L + k * 1_000_000L);
                prev = s[2];
            }
            assertThat(w.tokensEmitted()).isEqualTo(12);
            assertThat(w.requestsSubmitted()).isEqualTo(1);
            assertThat(w.info().running()).isZero();
        }
    }

    @Test
    void workersSharingACounterNumberRequestsUniquely() throws Exception {
        AtomicLong seq = new AtomicLong();
        try (ScriptedWorkerClient a = new ScriptedWorkerClient("a", 0, 1, seq);
             ScriptedWorkerClient b = new ScriptedWorkerClient("b", 0, 1, seq)) {
            Recorder r1 = new Recorder(), r2 = new Recorder(), r3 = new Recorder();
            a.submit(request("x", 1), r1);
            b.submit(request("y", 1), r2);
            a.submit(request("z", 1), r3);
            for (Recorder r : List.of(r1, r2, r3)) r.finish.get(10, TimeUnit.SECONDS);
            assertThat(List.of(stamp(r1.texts.getFirst())[0], stamp(r2.texts.getFirst())[0], stamp(r3.texts.getFirst())[0]))
                    .containsExactly(0L, 1L, 2L);
        }
    }

    @Test
    void abortEndsTheStreamWithAbortAndNoMoreTokens() throws Exception {
        // First token at once, the second an hour later: the abort lands between them, whatever the machine's speed.
        try (ScriptedWorkerClient w = new ScriptedWorkerClient("w", 0, 3_600_000, new AtomicLong())) {
            Recorder r = new Recorder();
            w.submit(request("a", 5), r);
            assertThat(r.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(w.info().running()).isEqualTo(1);
            w.abort("a");
            assertThat(r.finish.get(10, TimeUnit.SECONDS)).isEqualTo("abort::3:1");
            assertThat(r.texts).hasSize(1);
            assertThat(w.info().running()).isZero();
            w.abort("a");   // unknown by now: ignored
            w.abort("never-submitted");
        }
    }

    @Test
    void isAnUpColocatedWorkerWithRoomAndRefusesDisaggregatedCallsAndDuplicateIds() {
        try (ScriptedWorkerClient w = new ScriptedWorkerClient("w0", 0, 3_600_000, new AtomicLong())) {
            WorkerInfo i = w.info();
            assertThat(i.id()).isEqualTo("w0");
            assertThat(i.role()).isEqualTo(Role.COLOCATED);
            assertThat(i.up()).isTrue();
            assertThat(i.kvBlocksFree()).isPositive();
            assertThat(i.queuedPrefillTokens()).isZero();
            w.submit(request("a", 3), new Recorder());
            assertThatThrownBy(() -> w.submit(request("a", 3), new Recorder())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("already running");
            assertThatThrownBy(() -> w.reserve(request("b", 1), new Recorder())).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> w.submitPrefill(request("b", 1), new byte[0], new Recorder())).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> w.firstToken("b", 1)).isInstanceOf(UnsupportedOperationException.class);
            w.close();
            assertThat(w.info().up()).isFalse();
            assertThatThrownBy(() -> w.submit(request("c", 1), new Recorder())).isInstanceOf(IllegalStateException.class);
        }
        assertThatThrownBy(() -> new ScriptedWorkerClient("w", 0, 0, new AtomicLong())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void batchedWorkerHandsOverOneTokenOfEveryRunningRequestPerStep() throws Exception {
        try (ScriptedWorkerClient w = new ScriptedWorkerClient("w", 0, 1, true, 0, new AtomicLong())) {
            List<Recorder> rs = List.of(new Recorder(), new Recorder(), new Recorder());
            long before = System.nanoTime();
            for (int i = 0; i < rs.size(); i++) w.submit(request("r" + i, 4 + i), rs.get(i));
            for (int i = 0; i < rs.size(); i++) {
                Recorder r = rs.get(i);
                assertThat(r.finish.get(20, TimeUnit.SECONDS)).isEqualTo("length::3:" + (4 + i));
                long prev = before;
                for (int k = 0; k < r.texts.size(); k++) {
                    long[] s = stamp(r.texts.get(k));
                    assertThat(s[0]).isEqualTo(i);
                    assertThat(s[1]).isEqualTo(k);
                    assertThat(s[2]).isGreaterThan(prev).isLessThanOrEqualTo(r.seenNanos.get(k));
                    prev = s[2];
                }
            }
            assertThat(w.tokensEmitted()).isEqualTo(4 + 5 + 6);
            // A step walks the batch in submission order, and a request joins no earlier than one submitted before it:
            // the k-th tokens of the three requests are handed over in that order.
            for (int k = 0; k < 4; k++) {
                long a = stamp(rs.get(0).texts.get(k))[2], b = stamp(rs.get(1).texts.get(k))[2], c = stamp(rs.get(2).texts.get(k))[2];
                assertThat(a).isLessThan(b);
                assertThat(b).isLessThan(c);
            }
        }
    }
}
