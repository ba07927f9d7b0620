package io.baton.jmh;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * The float32 multiply-add peak of one core as the Vector API reaches it: twelve independent accumulators (enough to
 * cover the FMA latency on two pipes) and no memory operand. Its {@code flops} counter is the reference for the
 * GFLOP/s of {@link MatMulBench}: run both in the same session and report the kernels as a share of this peak, since
 * absolute speeds on the shared development machine drift by a quarter between runs. Run with {@code -t 2} for the
 * peak of two threads (two cores when nothing else runs).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class FmaPeakBench {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Multiply-adds per accumulator per call: long enough that the call and the final sum do not count. */
    private static final int STEPS = 4096;
    private static final int ACCUMULATORS = 12;

    private final float[] seed = new float[F.length()];

    /** Floating-point operations done (2 per lane per multiply-add), reported by JMH per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public long flops;

        @Setup(Level.Iteration)
        public void reset() {
            flops = 0;
        }
    }

    @Setup
    public void setup() {
        for (int i = 0; i < seed.length; i++) seed[i] = 0.5f + i / 64f;
    }

    @Benchmark
    public float fma(Work work) {
        FloatVector a0 = FloatVector.fromArray(F, seed, 0), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        // x -> 0.999x + 0.001 converges to 1: no overflow, no subnormals, whatever the number of steps.
        FloatVector m = FloatVector.broadcast(F, 0.999f), c = FloatVector.broadcast(F, 0.001f);
        for (int i = 0; i < STEPS; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        work.flops += 2L * ACCUMULATORS * STEPS * F.length();
        return a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))).add(a8.add(a9).add(a10.add(a11)))
                .reduceLanes(VectorOperators.ADD);
    }
}
