package io.baton.engine.parallel;

/**
 * The threads of one engine instance. A parallel section splits {@code [0, n)} into ranges run on the pool's threads
 * and the caller's thread, and returns when all are done. Never a global singleton: each engine sizes its own.
 */
public final class WorkerPool implements AutoCloseable {

    /** Work on the range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private final int threads;
    private final java.util.concurrent.ExecutorService executor;

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.executor = threads == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "baton-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task} over {@code [0, n)} split into at most {@link #threads()} contiguous ranges. */
    public void forRange(int n, RangeTask task) {
        if (n <= 0) return;
        int parts = Math.min(threads, n);
        if (parts == 1) {
            task.run(0, n);
            return;
        }
        java.util.concurrent.Future<?>[] fs = new java.util.concurrent.Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) n * p / parts), to = (int) ((long) n * (p + 1) / parts);
            fs[p - 1] = executor.submit(() -> task.run(from, to));
        }
        task.run(0, (int) ((long) n / parts));
        try {
            for (java.util.concurrent.Future<?> f : fs) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public void close() {
        if (executor != null) executor.shutdownNow();
    }
}
