package io.baton.bench.router;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Set;

/**
 * CPU time (ns) a router process has used, by kind of thread, taken inside the router's JVM. Threads are told apart by
 * name: Vert.x names its event loops {@code vert.x-eventloop-thread-N} and the thread accepting connections
 * {@code vert.x-acceptor-thread-N}; the router's {@code ApiServer} names its request-preparing pool
 * {@code baton-prepare}; the scripted workers name their timers {@code scripted-worker-ID}. A worker thread runs the
 * router's per-token bookkeeping too (its {@code Router} tracker and the hand-off to the event loop are called on it,
 * as on an engine loop or a gRPC thread in production).
 *
 * @param eventLoopNanos the event loops and the acceptor (HTTP I/O, SSE chunks)
 * @param prepareNanos   the prepare pool (JSON parsing, chat template, tokenization, block hashes)
 * @param workerNanos    the scripted workers' timer threads (the router's tracker and hand-off, plus the scripting)
 * @param processNanos   the whole JVM (all threads, the collector and the JIT compiler included), or -1 when the
 *                       process is shared with the benchmark client and that total would mean nothing
 */
public record RouterCpu(long eventLoopNanos, long prepareNanos, long workerNanos, long processNanos) {
    private static final String LINE_PREFIX = "CPU ";

    /** The router's threads together (event loops, prepare pool, workers). */
    public long routerThreadsNanos() {
        return eventLoopNanos + prepareNanos + workerNanos;
    }

    /** This minus an earlier sample. */
    public RouterCpu minus(RouterCpu earlier) {
        return new RouterCpu(eventLoopNanos - earlier.eventLoopNanos, prepareNanos - earlier.prepareNanos,
                workerNanos - earlier.workerNanos, processNanos < 0 || earlier.processNanos < 0 ? -1 : processNanos - earlier.processNanos);
    }

    /**
     * Samples this JVM.
     *
     * @param excludedThreads ids of threads that are not the router's although named like its threads (the benchmark
     *                        client's own Vert.x event loops when both run in one JVM)
     * @param wholeProcess    whether to take the process total too (only when this JVM runs nothing but the router)
     */
    public static RouterCpu sample(Set<Long> excludedThreads, boolean wholeProcess) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long loops = 0, prepare = 0, workers = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (excludedThreads.contains(t.threadId())) continue;
            String n = t.getName();
            long cpu = Math.max(0, mx.getThreadCpuTime(t.threadId()));   // -1 when the thread has just ended
            if (n.startsWith("vert.x-eventloop-thread-") || n.startsWith("vert.x-acceptor-thread-")) loops += cpu;
            else if (n.startsWith("baton-prepare")) prepare += cpu;
            else if (n.startsWith("scripted-worker-")) workers += cpu;
        }
        long process = -1;
        if (wholeProcess && ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            process = os.getProcessCpuTime();
        }
        return new RouterCpu(loops, prepare, workers, process);
    }

    /** One line for the router process's standard output: {@code CPU loops prepare workers process}. */
    public String toLine() {
        return String.format(Locale.ROOT, "%s%d %d %d %d", LINE_PREFIX, eventLoopNanos, prepareNanos, workerNanos, processNanos);
    }

    /** Reads {@link #toLine()}; null when {@code line} is not such a line. */
    public static RouterCpu parseLine(String line) {
        if (line == null || !line.startsWith(LINE_PREFIX)) return null;
        String[] f = line.substring(LINE_PREFIX.length()).trim().split(" ");
        if (f.length != 4) return null;
        try {
            return new RouterCpu(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
