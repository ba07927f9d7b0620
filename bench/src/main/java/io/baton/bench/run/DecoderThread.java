package io.baton.bench.run;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

/**
 * One thread that runs tasks handed to it in order, for the event loops' decoding work. Handing over takes no lock:
 * a {@code LinkedBlockingQueue} (as in {@code Executors.newSingleThreadExecutor}) makes the producer take the
 * consumer's lock to signal it, so an event loop could wait for a decoder thread that the OS has descheduled while
 * holding it; here the producer only appends to a lock-free queue and unparks the thread when it sleeps.
 */
final class DecoderThread implements AutoCloseable {
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean parked, closing;

    DecoderThread(String name) {
        thread = Thread.ofPlatform().daemon().name(name).start(this::loop);
    }

    /** Queues {@code task}; safe from any thread. */
    void execute(Runnable task) {
        tasks.offer(task);
        if (parked) LockSupport.unpark(thread);
    }

    private void loop() {
        try {
            while (true) {
                Runnable r = tasks.poll();
                if (r != null) {
                    r.run();
                    continue;
                }
                if (closing) return;
                parked = true;   // then look again: a task offered meanwhile is seen here, or its producer sees parked
                if (tasks.isEmpty() && !closing) LockSupport.park(this);
                parked = false;
            }
        } finally {
            stopped.countDown();
        }
    }

    /** Runs what is queued, then ends the thread. */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(thread);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
