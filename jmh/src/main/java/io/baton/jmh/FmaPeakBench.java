package io.baton.jmh;

import io.baton.engine.tensor.ComputeRoof;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The float32 multiply-add peak of one core as the Vector API reaches it: {@link ComputeRoof#chains}, twelve
 * independent accumulators (enough to cover the FMA latency on two pipes) and no memory operand, the loop behind
 * {@code bench engine --roofline}'s {@code batch_roof}. Its {@code flops} counter is the reference for the GFLOP/s of
 * {@link MatMulBench}: run both in the same session and report the kernels as a share of this peak, since absolute
 * speeds on the shared development machine drift by a quarter between runs. Run with {@code -t 2} for the peak of two
 * threads (two cores when nothing else runs).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class FmaPeakBench {
    private int seed;

    /** Floating-point operations done, reported by JMH per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public long flops;

        @Setup(Level.Iteration)
        public void reset() {
            flops = 0;
        }
    }

    @Benchmark
    public float fma(Work work) {
        work.flops += ComputeRoof.FLOPS_PER_CALL;
        return ComputeRoof.chains(seed++);
    }
}
