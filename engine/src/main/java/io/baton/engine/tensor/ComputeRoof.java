package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.util.List;

import static io.baton.engine.tensor.Vec.F;

/**
 * The compute roof of batched decode, measured: the float32 multiply-adds per second these threads reach with the
 * simplest loop that keeps both FMA pipes busy (twelve independent accumulators, no memory operand). A batched step
 * does 2 flops per weight per token ({@link #flopsPerToken}), and Baton's kernels compute in float32 (weights are
 * dequantized exactly, not rounded to int8 as llama.cpp's VNNI path does), so {@code roof / flops per token} bounds
 * the batched tokens/s, and a batch's share of it is how well its step uses the FMAs.
 *
 * <p>Measured in the same run as what it is compared with, like {@link MemoryRoof}. On the development machine it is
 * steady at 223-231 GFLOP/s per core once {@link #chains} keeps its constants in registers (see there); before, it
 * seemed to move between ~220 and ~110 "from one minute to the next", which was the JIT, not the machine.
 */
public final class ComputeRoof {
    private ComputeRoof() {}

    private static final int ACCUMULATORS = 12;
    /** Multiply-adds per accumulator per call of {@link #chains}: about 8 µs of work at 200 GFLOP/s. */
    private static final int STEPS = 1 << 12;
    /** Floating-point operations of one call of {@link #chains} (2 per lane per multiply-add). */
    public static final long FLOPS_PER_CALL = 2L * ACCUMULATORS * STEPS * F.length();
    /** Tasks per thread, run in a row: about 15 ms in all, so the one hand-off and the JIT's warm-up don't count. */
    private static final int TASKS_PER_THREAD = 2000;

    /** 2 × the weights of {@code matrices}: the flops one token of a batched decode step does in them. */
    public static long flopsPerToken(List<Tensor> matrices) {
        long n = 0;
        for (Tensor t : matrices) n += (long) t.rows() * t.cols();
        return 2 * n;
    }

    /** The float32 FMA flops per second of all threads of {@code pool} together. */
    public static double flopsPerSecond(WorkerPool pool) {
        int tasks = TASKS_PER_THREAD * pool.threads();
        float[] sums = new float[tasks];
        long t0 = System.nanoTime();
        pool.forRange(tasks, TASKS_PER_THREAD, (from, to) -> {
            for (int i = from; i < to; i++) sums[i] = chains(i);
        });
        long dt = Math.max(1, System.nanoTime() - t0);
        float s = 0;
        for (float v : sums) s += v;
        if (s == 42) System.out.print(""); // keep the sums alive (a value the JIT cannot know)
        return (double) FLOPS_PER_CALL * tasks / (dt / 1e9);
    }

    /**
     * {@link #STEPS} multiply-adds on each of twelve independent accumulators, their sum returned (for the caller to
     * keep alive). x -> 0.999x + 0.001 pulls every lane toward 1: no overflow, no subnormals, whatever the seed.
     *
     * <p>The two factors are computed from the seed rather than written as constants: once this method was inlined
     * into a caller's loop (JMH's, or a probe's), C2 rematerialized the constant vectors, two {@code vbroadcastss}
     * loads before every FMA, and the loop ran on the load ports at exactly half the FMA rate (110 instead of 220
     * GFLOP/s, seen in the disassembly with {@code scripts/c2-asm.py}). Values C2 cannot know stay in registers.
     */
    public static float chains(int seed) {
        FloatVector a0 = FloatVector.broadcast(F, 1f + seed % 7), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        float unit = 1 + (seed >>> 31); // 1 for every seed >= 0, which C2 cannot know: see the method comment
        FloatVector m = FloatVector.broadcast(F, 1 - 0.001f * unit), c = FloatVector.broadcast(F, 0.001f * unit);
        for (int i = 0; i < STEPS; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))).add(a8.add(a9).add(a10.add(a11)))
                .reduceLanes(VectorOperators.ADD);
    }
}
