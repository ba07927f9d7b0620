package io.baton.engine.parallel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The threads of one engine instance. A parallel section ({@link #forRange}) cuts {@code [0, n)} into chunks that the
 * pool's threads and the calling thread take from a shared counter until none is left, then returns when all are
 * done. Never a global singleton: each engine sizes its own.
 *
 * <p>Hand-off cost: between sections, workers spin for a short while ({@link #DEFAULT_SPIN_NANOS} by default, with
 * {@link Thread#onSpinWait}) watching for the next section, then park. A section that finds its workers spinning costs
 * well under a microsecond to start; one that finds them parked pays an unpark (a few microseconds). Idle workers burn
 * no CPU after the spin, which matters when two engines share two cores. An executor's {@code Future.get} hand-off
 * measured about 14 µs per section on such a machine.
 *
 * <p>Rules: a task must not block waiting for another task of the same section. A section started from inside a task
 * (a nested call) runs entirely on the calling thread. Sections from different threads are serialized. The first
 * exception thrown by a task is rethrown to the caller of {@link #forRange} once all threads have stopped; chunks not
 * yet started are skipped.
 */
public final class WorkerPool implements AutoCloseable {

    /** Work on the range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /** Default time an idle worker (or a waiting caller) spins before parking: 50 µs. */
    public static final long DEFAULT_SPIN_NANOS = 50_000;

    private final int threads;
    private final long spinNanos;
    private final Worker[] workers;
    private final ReentrantLock sectionLock = new ReentrantLock();
    /** The latest section; workers compare it with the last one they served. */
    private volatile Section current = Section.IDLE;
    /** The thread running a section, to detect nested calls. */
    private volatile Thread owner;
    private volatile boolean closed;

    /** One parallel section: immutable work description plus its counters, so a late worker never mixes sections. */
    private static final class Section {
        static final Section IDLE = new Section((from, to) -> { }, 0, 1, null);

        final RangeTask task;
        final int n, grain, chunks;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;
        volatile boolean callerParked;

        Section(RangeTask task, int n, int grain, Thread caller) {
            this.task = task;
            this.n = n;
            this.grain = grain;
            this.chunks = (int) (((long) n + grain - 1) / grain);
            this.caller = caller;
        }
    }

    /** A pool of {@code threads} threads in all, the caller's included: {@code threads - 1} are started. */
    public WorkerPool(int threads) {
        this(threads, DEFAULT_SPIN_NANOS);
    }

    /**
     * @param threads   threads in all, the caller's included (at least 1)
     * @param spinNanos how long an idle thread spins before parking (0: park at once)
     */
    public WorkerPool(int threads, long spinNanos) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (spinNanos < 0) throw new IllegalArgumentException("spinNanos must be >= 0, got " + spinNanos);
        this.threads = threads;
        this.spinNanos = spinNanos;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(this, "baton-worker-" + i);
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task} over {@code [0, n)} in about {@link #threads()} contiguous chunks. */
    public void forRange(int n, RangeTask task) {
        forRange(n, Math.max(1, (int) (((long) n + threads - 1) / threads)), task);
    }

    /**
     * Runs {@code task} over {@code [0, n)} in chunks of {@code grain} indices (the last may be shorter), each handed to
     * whichever thread asks first: a finer grain balances uneven work, a coarser one costs fewer hand-offs. Every index
     * is covered exactly once. Returns when all chunks are done; a worker that wakes late finds nothing left and is not
     * waited for.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public void forRange(int n, int grain, RangeTask task) {
        if (grain < 1) throw new IllegalArgumentException("grain must be >= 1, got " + grain);
        if (closed) throw new IllegalStateException("worker pool is closed");
        if (n <= 0) return;
        Thread me = Thread.currentThread();
        if (workers.length == 0 || n <= grain || owner == me || (me instanceof Worker w && w.pool == this)) {
            task.run(0, n); // one chunk, a single thread, or a nested call: no hand-off
            return;
        }
        sectionLock.lock();
        try {
            if (closed) throw new IllegalStateException("worker pool is closed");
            owner = me;
            Section s = new Section(task, n, grain, me);
            current = s;
            for (Worker w : workers) {
                if (w.parked) LockSupport.unpark(w);
            }
            work(s);
            awaitDone(s);
            current = Section.IDLE; // drop the task's references
            Throwable t = s.failure;
            if (t != null) rethrow(t);
        } finally {
            owner = null;
            sectionLock.unlock();
        }
    }

    /** Takes chunks of {@code s} until none is left. After a failure the remaining chunks are counted, not run. */
    private static void work(Section s) {
        while (true) {
            int c = s.next.getAndIncrement();
            if (c >= s.chunks) return;
            if (s.failure == null) {
                int from = c * s.grain; // < n, so no overflow
                try {
                    s.task.run(from, (int) Math.min(s.n, (long) from + s.grain));
                } catch (Throwable t) {
                    synchronized (s) {
                        if (s.failure == null) s.failure = t;
                    }
                }
            }
            if (s.done.incrementAndGet() == s.chunks && s.callerParked) LockSupport.unpark(s.caller);
        }
    }

    /** Caller side: spin, then park, until every chunk of {@code s} is done. */
    private void awaitDone(Section s) {
        long deadline = System.nanoTime() + spinNanos;
        int spins = 0;
        while (s.done.get() != s.chunks) {
            if (++spins % 64 != 0 || System.nanoTime() < deadline) {
                Thread.onSpinWait();
                continue;
            }
            s.callerParked = true;
            if (s.done.get() != s.chunks) LockSupport.park(this);
            s.callerParked = false;
        }
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException("task failed", t);
    }

    /** Stops the worker threads and waits for them (a few ms at most). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        sectionLock.lock();
        try {
            closed = true;
        } finally {
            sectionLock.unlock();
        }
        for (Worker w : workers) LockSupport.unpark(w);
        boolean interrupted = false;
        for (Worker w : workers) {
            while (w.isAlive()) {
                try {
                    w.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static final class Worker extends Thread {
        final WorkerPool pool;
        volatile boolean parked;

        Worker(WorkerPool pool, String name) {
            super(name);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            // Not pool.current: a thread that starts late must still serve a section published before it ran.
            Section seen = Section.IDLE;
            while (true) {
                Section s = awaitSection(seen);
                if (s == null) return; // closed
                seen = s;
                if (s != Section.IDLE) work(s);
            }
        }

        /** Spins, then parks, until a section other than {@code seen} is published; null when the pool closes. */
        private Section awaitSection(Section seen) {
            long deadline = System.nanoTime() + pool.spinNanos;
            int spins = 0;
            while (true) {
                Section s = pool.current;
                if (s != seen) return s;
                if (pool.closed) return null;
                if (++spins % 64 != 0 || System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                if (pool.current == seen && !pool.closed) LockSupport.park(pool);
                parked = false;
            }
        }
    }
}
