package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The memory roof of decode, measured: how fast these threads can merely read a set of weight matrices, with the
 * simplest loop there is (vector loads and adds, four independent chains, through {@link RawWeights} like the
 * kernels). A decode step reads every weight once, so {@code roof / bytes per token} bounds decode tokens/s on this
 * machine, and decode's share of it says how much of the bandwidth the kernels use. It is measured in the same run as
 * what it is compared with, since memory bandwidth on a shared machine moves from minute to minute.
 */
public final class MemoryRoof {
    private MemoryRoof() {}

    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;
    /** Bytes per parallel task: the decode path's chunk, since chunk size moves read bandwidth (see there). */
    private static final long CHUNK = MatMul.DECODE_CHUNK_BYTES;

    /** Total bytes of {@code matrices}. */
    public static long bytes(List<Tensor> matrices) {
        long n = 0;
        for (Tensor t : matrices) n += t.rowBytes() * t.rows();
        return n;
    }

    /** Reads every byte of {@code matrices} once on {@code pool}; returns bytes per second. */
    public static double readBytesPerSecond(List<Tensor> matrices, WorkerPool pool) {
        long t0 = System.nanoTime();
        long sink = 0;
        for (Tensor t : matrices) sink += read(t, pool);
        long dt = Math.max(1, System.nanoTime() - t0);
        if (sink == 42) System.out.print(""); // keep the sums alive (a value the JIT cannot know)
        return bytes(matrices) / (dt / 1e9);
    }

    private static long read(Tensor t, WorkerPool pool) {
        MemorySegment data = RawWeights.segment(t);
        long base = RawWeights.base(t);
        long size = t.rowBytes() * t.rows();
        int chunks = (int) ((size + CHUNK - 1) / CHUNK);
        long[] sums = new long[chunks];
        pool.forRange(chunks, 1, (from, to) -> {
            for (int c = from; c < to; c++) {
                long start = c * CHUNK, end = Math.min(size, start + CHUNK);
                sums[c] = sum(data, base + start, end - start);
            }
        });
        long s = 0;
        for (long v : sums) s += v;
        return s;
    }

    private static long sum(MemorySegment s, long off, long n) {
        int w = B.vectorByteSize();
        ByteVector a0 = ByteVector.zero(B), a1 = a0, a2 = a0, a3 = a0;
        long i = 0;
        for (; i + 4L * w <= n; i += 4L * w) {
            a0 = a0.add(ByteVector.fromMemorySegment(B, s, off + i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(ByteVector.fromMemorySegment(B, s, off + i + w, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(ByteVector.fromMemorySegment(B, s, off + i + 2L * w, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(ByteVector.fromMemorySegment(B, s, off + i + 3L * w, ByteOrder.LITTLE_ENDIAN));
        }
        long r = a0.add(a1).add(a2.add(a3)).reduceLanesToLong(VectorOperators.ADD);
        for (; i < n; i++) r += s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + i);
        return r;
    }
}
