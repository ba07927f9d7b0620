package io.baton.bench.run;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * How the client's event loops are scheduled against the client's other threads when they share cores. A byte that
 * arrives while another thread of the client runs (the decoder, a JIT compiler, a collector worker) waits for the
 * scheduler to switch to its event loop before it is timestamped: with equal priorities Linux may let the running
 * thread finish its time slice first, which is up to milliseconds. Two ways to put the loops first:
 * <ul>
 *   <li>{@link #OTHERS_NICE}: every other thread of this JVM goes to nice 19 (weight 15 against the loops' 1024), so a
 *   waking loop preempts them. Lowering one's own threads needs no privilege; threads they create later (the decoder
 *   of a run, more compiler threads) inherit nice 19 from their creator;</li>
 *   <li>{@link #REALTIME}: the loops go to {@code SCHED_FIFO} priority 1, as latency probes such as rt-tests'
 *   cyclictest run: they preempt every normal thread at once. Needs {@code CAP_SYS_NICE}. The loops block in epoll
 *   between events and never spin, so they cannot starve the machine.</li>
 * </ul>
 * Both use util-linux ({@code /usr/bin/renice}, {@code /usr/bin/chrt}) on Linux thread ids.
 */
public enum LoopPriority {
    /** Leave scheduling alone. */
    NORMAL,
    /** Every thread of this JVM but the event loops at nice 19. */
    OTHERS_NICE,
    /** The event loops in {@code SCHED_FIFO} at priority 1. */
    REALTIME;

    /** {@code normal}, {@code others-nice} or {@code realtime}. */
    public static LoopPriority parse(String s) {
        for (LoopPriority p : values()) if (p.cliName().equals(s)) return p;
        throw new IllegalArgumentException("--loop-priority must be normal, others-nice or realtime, got '" + s + "'");
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
     * Applies this policy, given the event loops' Linux thread ids and any other thread to leave as it is (a probe of
     * the machine's own noise, say).
     *
     * @return the threads changed (loops for REALTIME, the others for OTHERS_NICE)
     * @throws IllegalStateException with the tool's message when it cannot be done (no util-linux, not permitted)
     */
    public int apply(long[] loopTids, long... untouched) {
        return switch (this) {
            case NORMAL -> 0;
            case REALTIME -> {
                for (long tid : loopTids) run("/usr/bin/chrt", "-f", "-p", "1", Long.toString(tid));
                yield loopTids.length;
            }
            case OTHERS_NICE -> {
                // A second pass catches threads started by the first (the JDK's process reaper, started by the main
                // thread while it still had nice 0); later ones are started by threads already lowered.
                java.util.Set<String> done = new java.util.HashSet<>();
                for (int pass = 0; pass < 3; pass++) {
                    long[] keep = java.util.stream.LongStream.concat(Arrays.stream(loopTids), Arrays.stream(untouched)).toArray();
                    List<String> fresh = otherThreads(keep).stream().filter(t -> !done.contains(t)).toList();
                    if (fresh.isEmpty()) break;
                    List<String> cmd = new ArrayList<>(List.of("/usr/bin/renice", "-n", "19", "-p"));
                    cmd.addAll(fresh);
                    run(cmd.toArray(String[]::new));
                    done.addAll(fresh);
                }
                yield done.size();
            }
        };
    }

    private static List<String> otherThreads(long[] keep) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.map(t -> t.getFileName().toString())
                    .filter(t -> Arrays.stream(keep).noneMatch(l -> Long.toString(l).equals(t))).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list this process's threads (/proc/self/task): " + e.getMessage());
        }
    }

    private static void run(String... cmd) {
        if (!Files.isExecutable(Path.of(cmd[0]))) throw new IllegalStateException("--loop-priority needs " + cmd[0] + " (util-linux)");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            // renice reports threads that ended meanwhile ("No such process") and still sets the others: not a failure.
            if (p.waitFor() != 0 && !out.lines().allMatch(l -> l.contains("No such process"))) {
                throw new IllegalStateException(String.join(" ", cmd.length > 6 ? List.of(cmd).subList(0, 5) : List.of(cmd))
                        + " failed: " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException(cmd[0] + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(cmd[0] + ": interrupted");
        }
    }
}
