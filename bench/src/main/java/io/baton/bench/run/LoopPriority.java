package io.baton.bench.run;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the client's event loops are scheduled against the client's other threads when they share cores. A byte that
 * arrives while another thread of the client runs (the decoder, a JIT compiler, a collector worker) waits for the
 * scheduler to switch to its event loop before it is timestamped: with equal priorities Linux may let the running
 * thread finish its time slice first, which is up to milliseconds. {@link #REALTIME} puts the loops in {@code
 * SCHED_FIFO} priority 1 (util-linux's {@code chrt} on their Linux thread ids), as latency probes such as rt-tests'
 * cyclictest run: they preempt every normal thread at once. It needs {@code CAP_SYS_NICE}. The loops block in epoll
 * between events and never spin; a loop saturated by an overload could hold its core, but Linux's real-time
 * throttling (by default 95% of each second at most, {@code kernel.sched_rt_runtime_us}) leaves the other threads
 * the rest.
 *
 * <p>Lowering every other thread instead (nice 19, which needs no privilege) was tried and made the tail far worse
 * (p99 |ITL distortion| 34-48 ms against 5.6-6.7 ms, 1,000 streams on one core of the 2-core development VM): a
 * safepoint or handshake then waits for threads that barely get the CPU, with the event loop stopped meanwhile.
 */
public enum LoopPriority {
    /** Leave scheduling alone. */
    NORMAL,
    /** The event loops in {@code SCHED_FIFO} at priority 1. */
    REALTIME,
    /**
     * The event loops stay normal threads but ask for the shortest time slice (0.1 ms, {@link SchedSlice}), so that
     * they preempt the client's other threads as soon as bytes wake them. No privilege needed; Linux 6.12 or later.
     */
    SHORT_SLICE,
    /**
     * {@link #SHORT_SLICE} where the kernel honours it, else {@link #NORMAL}: the default, since it needs no privilege
     * and changes nothing but the client's own event loops. On the device host it was the difference between meeting
     * the 1 ms bound on ITL distortion and missing it (docs/performance.md).
     */
    AUTO;

    /** {@code normal}, {@code realtime}, {@code short-slice} or {@code auto}. */
    public static LoopPriority parse(String s) {
        for (LoopPriority p : values()) if (p.cliName().equals(s)) return p;
        throw new IllegalArgumentException("--loop-priority must be auto, normal, realtime or short-slice, got '" + s + "'");
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The calling thread's Linux thread id, from {@code /proc/thread-self} (a link to {@code <pid>/task/<tid>}).
     *
     * @throws IllegalStateException where there is no such link (not Linux)
     */
    public static long currentLinuxThreadId() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
            return Long.parseLong(link.substring(link.lastIndexOf('/') + 1));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot find this thread's Linux thread id (/proc/thread-self): " + e.getMessage());
        }
    }

    /**
     * Applies this policy to the event loops, given their Linux thread ids.
     *
     * @return the policy now in force: this one, or for {@link #AUTO} the one it chose
     * @throws IllegalStateException with the tool's message when it cannot be done (no util-linux, not permitted,
     *                               kernel too old); never for {@link #AUTO} and {@link #NORMAL}
     */
    public LoopPriority apply(long[] loopTids) {
        if (this == NORMAL) return NORMAL;
        if (this == AUTO) {
            try {
                return SHORT_SLICE.apply(loopTids);
            } catch (RuntimeException | LinkageError e) {
                return NORMAL;   // no per-thread slices here (kernel before 6.12, not Linux): leave scheduling alone
            }
        }
        if (this == SHORT_SLICE) {
            for (long tid : loopTids) SchedSlice.set(tid, SchedSlice.MIN_SLICE_NS);
            return SHORT_SLICE;
        }
        Path chrt = Path.of("/usr/bin/chrt");
        if (!Files.isExecutable(chrt)) throw new IllegalStateException("--loop-priority realtime needs /usr/bin/chrt (util-linux)");
        for (long tid : loopTids) {
            try {
                Process p = new ProcessBuilder(chrt.toString(), "-f", "-p", "1", Long.toString(tid)).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor() != 0) throw new IllegalStateException("chrt -f -p 1 " + tid + " failed: " + out);
            } catch (IOException e) {
                throw new IllegalStateException("chrt: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("chrt: interrupted");
            }
        }
        return REALTIME;
    }
}
