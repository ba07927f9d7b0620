package io.baton.kvtransfer;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** One daemon thread that runs lease expiries (and other short timed checks) of a sender or receiver. */
final class LeaseTimer implements AutoCloseable {
    private final ScheduledThreadPoolExecutor executor;

    LeaseTimer(String name) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true); // finished transfers do not leave their lease tasks behind
    }

    ScheduledFuture<?> after(long nanos, Runnable task) {
        return executor.schedule(task, Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
