package io.baton.jmh;

import io.baton.engine.parallel.WorkerPool;
import io.baton.engine.tensor.GgmlType;
import io.baton.engine.tensor.MatMul;
import io.baton.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** {@link MatMul#matmul} per weight type at qwen2.5-0.5b shapes: decode (1 token) and prefill (64 tokens). */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class MatMulBench {

    @Param({"Q8_0", "F16", "BF16", "Q4_0", "F32", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    /** rows x columns */
    @Param({"896x896", "4864x896", "896x4864"})
    public String shape;

    @Param({"2"})
    public int threads;

    @Param({"64"})
    public int tokens;

    @Param({"512"})
    public int footprintMB;

    private Arena arena;
    private Tensor[] copies;
    private int next;
    private WorkerPool pool;
    private float[] x1, xs, out;
    private long bytes;
    private int rows, cols;

    /** Bytes and flops done, reported by JMH per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public long bytes;
        public long flops;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
            flops = 0;
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        String[] rc = shape.split("x");
        rows = Integer.parseInt(rc[0]);
        cols = Integer.parseInt(rc[1]);
        if (cols % t.blockSize != 0) {
            throw new IllegalArgumentException(type + " needs columns that are a multiple of " + t.blockSize + "; shape " + shape + " has " + cols);
        }
        bytes = t.bytesFor((long) rows * cols);
        int n = (int) Math.max(1, (long) footprintMB * 1024 * 1024 / bytes);
        arena = Arena.ofShared();
        copies = new Tensor[n];
        for (int i = 0; i < n; i++) copies[i] = randomTensor(t, rows, cols, i);
        pool = new WorkerPool(threads);
        SplittableRandom r = new SplittableRandom(7);
        x1 = new float[cols];
        xs = new float[tokens * cols];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) (r.nextDouble() * 2 - 1);
        System.arraycopy(xs, 0, x1, 0, cols);
        out = new float[tokens * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float decode(Work work) {
        Tensor w = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        MatMul.matmul(w, x1, 1, out, pool);
        work.bytes += bytes;
        work.flops += 2L * rows * cols;
        return out[0];
    }

    /** Like {@link #prefill}, but cycling through the copies like {@link #decode}: weights from memory, as batched decode reads them. */
    @Benchmark
    public float batch(Work work) {
        Tensor w = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        MatMul.matmul(w, xs, tokens, out, pool);
        work.bytes += bytes;
        work.flops += 2L * rows * cols * tokens;
        return out[0];
    }

    @Benchmark
    public float prefill(Work work) {
        MatMul.matmul(copies[0], xs, tokens, out, pool);
        work.bytes += bytes;
        work.flops += 2L * rows * cols * tokens;
        return out[0];
    }

    private Tensor randomTensor(GgmlType t, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long size = t.bytesFor((long) rows * cols);
        MemorySegment s = arena.allocate(size, 64);
        ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        switch (t) {
            case F32 -> { for (long i = 0; i < size; i += 4) s.set(f32, i, (float) (r.nextDouble() * 2 - 1)); }
            case F16 -> { for (long i = 0; i < size; i += 2) s.set(half, i, Float.floatToFloat16((float) (r.nextDouble() * 2 - 1))); }
            case BF16 -> { for (long i = 0; i < size; i += 2) s.set(half, i, (short) (Float.floatToRawIntBits((float) (r.nextDouble() * 2 - 1)) >>> 16)); }
            default -> {
                for (long i = 0; i + 8 <= size; i += 8) s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
                for (long b = 0; b < size; b += t.blockBytes) {
                    short scale = Float.floatToFloat16((float) (r.nextDouble() * 0.01));
                    switch (t) {
                        case Q8_0, Q4_0 -> s.set(half, b, scale);
                        case Q4_K, Q5_K -> { s.set(half, b, scale); s.set(half, b + 2, scale); }
                        case Q6_K -> s.set(half, b + 208, scale);
                        default -> throw new IllegalArgumentException("no benchmark data for " + t);
                    }
                }
            }
        }
        return new Tensor("bench." + t, t, new long[] {cols, rows}, s);
    }
}
