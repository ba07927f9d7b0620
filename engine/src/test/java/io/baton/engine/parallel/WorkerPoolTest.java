package io.baton.engine.parallel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkerPoolTest {

    private static void assertCoveredOnce(WorkerPool pool, int n, int grain) {
        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
        WorkerPool.RangeTask task = (from, to) -> {
            assertThat(from).isLessThan(to);
            for (int i = from; i < to; i++) hits.incrementAndGet(i);
        };
        if (grain == 0) pool.forRange(n, task); else pool.forRange(n, grain, task);
        for (int i = 0; i < n; i++) {
            if (hits.get(i) != 1) throw new AssertionError("index " + i + " of " + n + " run " + hits.get(i) + " times (threads " + pool.threads() + ", grain " + grain + ")");
        }
    }

    @Test
    void coversEveryIndexExactlyOnce() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int n : new int[] {0, 1, 2, 3, 7, 64, 1000, 100_003}) {
                    for (int grain : new int[] {0, 1, 3, 64, 1 << 20}) assertCoveredOnce(pool, n, grain);
                }
            }
        }
    }

    @Test
    void nearIntMaxDoesNotOverflow() {
        try (WorkerPool pool = new WorkerPool(3)) {
            AtomicInteger chunks = new AtomicInteger();
            long[] covered = new long[1];
            int n = Integer.MAX_VALUE - 5, grain = Integer.MAX_VALUE / 4;
            pool.forRange(n, grain, (from, to) -> {
                chunks.incrementAndGet();
                synchronized (covered) { covered[0] += to - from; }
            });
            assertThat(covered[0]).isEqualTo(n);
            assertThat(chunks.get()).isEqualTo((int) (((long) n + grain - 1) / grain));
        }
    }

    @Test
    void workersReallyTakePart() throws InterruptedException {
        // Also the first section of a new pool: a worker thread that starts after it was published must serve it.
        try (WorkerPool pool = new WorkerPool(3)) {
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            CountDownLatch all = new CountDownLatch(3);
            // Each chunk waits (bounded) until three chunks have started, so the three threads must run one each.
            pool.forRange(3, 1, (from, to) -> {
                seen.add(Thread.currentThread());
                all.countDown();
                try {
                    assertThat(all.await(20, TimeUnit.SECONDS)).isTrue();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(seen).hasSize(3).contains(Thread.currentThread());
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int round = 0; round < 50; round++) {
                int bad = round % 10;
                assertThatThrownBy(() -> pool.forRange(10, 1, (from, to) -> {
                    if (from == bad) throw new IllegalArgumentException("chunk " + from);
                })).isInstanceOf(IllegalArgumentException.class).hasMessage("chunk " + bad);
                assertCoveredOnce(pool, 1000, 7);
            }
            AssertionError error = new AssertionError("boom");
            assertThatThrownBy(() -> pool.forRange(4, 1, (from, to) -> { throw error; })).isSameAs(error);
        }
    }

    @Test
    void nestedSectionsRunOnTheCallingThread() {
        try (WorkerPool pool = new WorkerPool(3)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.forRange(10, 1, (from, to) -> pool.forRange(10, 1, (a, b) -> {
                for (int i = a; i < b; i++) hits.incrementAndGet(from * 10 + i);
            }));
            for (int i = 0; i < 100; i++) assertThat(hits.get(i)).isEqualTo(1);
        }
    }

    @Test
    void sectionsFromSeveralThreadsAreSerialized() throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(3)) {
            AtomicInteger inside = new AtomicInteger(), maxInside = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int c = 0; c < 3; c++) {
                Thread t = new Thread(() -> {
                    try {
                        for (int k = 0; k < 200; k++) {
                            pool.forRange(8, 1, (from, to) -> {
                                if (from == 0) {
                                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                                    inside.decrementAndGet();
                                }
                            });
                            assertCoveredOnce(pool, 97, 5);
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                callers.add(t);
                t.start();
            }
            for (Thread t : callers) t.join();
            assertThat(errors).isEmpty();
            assertThat(maxInside.get()).isEqualTo(1);
        }
    }

    @Test
    void reusableForManySectionsWithoutLeakingThreads() {
        int before = Thread.activeCount();
        try (WorkerPool pool = new WorkerPool(3, 0)) { // no spinning: every section wakes parked workers
            long[] sum = new long[1];
            for (int k = 0; k < 5000; k++) {
                long[] part = new long[8];
                pool.forRange(8, 1, (from, to) -> part[from] = from);
                for (long p : part) sum[0] += p;
            }
            assertThat(sum[0]).isEqualTo(5000L * 28);
        }
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int k = 0; k < 5000; k++) assertCoveredOnce(pool, 33, 4);
        }
        assertThat(Thread.activeCount()).isLessThanOrEqualTo(before);
    }

    @Test
    void closeEndsTheThreadsAndRefusesNewWork() {
        WorkerPool pool = new WorkerPool(4);
        Set<Thread> workers = ConcurrentHashMap.newKeySet();
        CountDownLatch all = new CountDownLatch(4);
        pool.forRange(4, 1, (from, to) -> {
            workers.add(Thread.currentThread());
            all.countDown();
            try {
                all.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        workers.remove(Thread.currentThread());
        assertThat(workers).hasSize(3);
        pool.close();
        for (Thread t : workers) assertThat(t.isAlive()).as(t.getName()).isFalse();
        pool.close(); // idempotent
        assertThatThrownBy(() -> pool.forRange(10, 1, (a, b) -> { })).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new WorkerPool(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WorkerPool(2, -1)).isInstanceOf(IllegalArgumentException.class);
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThatThrownBy(() -> pool.forRange(5, 0, (a, b) -> { })).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
