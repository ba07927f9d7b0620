package io.baton.cli;

import io.baton.bench.Calibration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code baton bench calibrate}: the client's own overhead against an in-process scripted server. */
@Command(name = "calibrate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measures this benchmark client's overhead: N concurrent streams from an in-process scripted server",
                "with a fixed inter-token latency; reports how much the client shifts token timestamps and ITLs."})
public final class BenchCalibrateCommand implements Callable<Integer> {
    @Option(names = "--streams", defaultValue = "1000", description = "Concurrent streams. Default: ${DEFAULT-VALUE}")
    int streams;
    @Option(names = "--tokens", defaultValue = "100", description = "Tokens per stream. Default: ${DEFAULT-VALUE}")
    int tokens;
    @Option(names = "--itl-ms", defaultValue = "20", description = "Scripted inter-token latency (ms). Default: ${DEFAULT-VALUE}")
    double itlMs;
    @Option(names = "--ttft-ms", defaultValue = "100", description = "Scripted time to first token (ms). Default: ${DEFAULT-VALUE}")
    double ttftMs;
    @Option(names = "--event-loops", defaultValue = "1", description = "Client event loops. Default: ${DEFAULT-VALUE}")
    int clientLoops;
    @Option(names = "--server-event-loops", defaultValue = "2", description = "Scripted server event loops. Default: ${DEFAULT-VALUE}")
    int serverLoops;
    @Option(names = "--in-process", description = "Run the scripted server in this JVM instead of a child JVM")
    boolean inProcess;
    @Option(names = "--server-cpus", paramLabel = "LIST", description = "Pin the scripted server's JVM to these CPUs (taskset -c LIST);"
            + " run the client with taskset on the others. Default: not pinned")
    String serverCpus;
    @Option(names = "--aligned", description = "Write every stream's token in the same millisecond (worst case) instead of staggering them")
    boolean aligned;
    @Option(names = "--warmup", defaultValue = "1", description = "Client warm-up rounds first (JIT compilation). Default: ${DEFAULT-VALUE}")
    int warmup;
    @Option(names = "--preconnect", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Open every stream's connection (GET /v1/models) before the measured round, so it measures streaming"
                    + " rather than 1,000 connections opening at once. Default: ${DEFAULT-VALUE}")
    boolean preconnect;
    @Option(names = "--loop-priority", defaultValue = "auto", paramLabel = "MODE",
            description = "How the client's event loops are scheduled against its other threads (decoder, JIT, collector) on shared"
                    + " cores: auto (short-slice where the kernel has it, else normal); normal; realtime (the loops in SCHED_FIFO with chrt, needs CAP_SYS_NICE); or short-slice (the loops"
                    + " ask Linux for a 0.1 ms time slice, so they preempt the others when bytes arrive; no privilege, Linux 6.12+)."
                    + " Default: ${DEFAULT-VALUE}")
    String loopPriority;
    @Option(names = "--progress", defaultValue = "auto", description = "auto, bar, lines or off. Default: ${DEFAULT-VALUE}")
    String progress;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        java.io.PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        try {
            var options = new Calibration.Options(streams, tokens, itlMs, ttftMs, serverLoops, clientLoops, aligned, !inProcess,
                    serverCpus, warmup, preconnect, io.baton.bench.run.LoopPriority.parse(loopPriority));
            Calibration.print(Calibration.run(options, stderr, progress), stdout);
            return 0;
        } catch (IllegalArgumentException e) {
            stderr.println("baton bench calibrate: " + e.getMessage());
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            stderr.println("baton bench calibrate: " + e.getMessage());
            return 1;
        }
    }
}
