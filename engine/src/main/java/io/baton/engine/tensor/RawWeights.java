package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * How the kernels address a weight matrix: through one segment spanning the whole address space, at the matrix's
 * absolute address, instead of through the matrix's own (mapped) segment.
 *
 * <p>Why: C2 compiles vector loads from a mapped or arena segment with a per-access liveness and bounds check it does
 * not fully hoist; a 256-bit load-and-add loop over 256 KiB ran at ~25 GB/s from an arena segment and ~110 GB/s from
 * this constant global segment (the same as from a {@code byte[]}), on this project's 2-core machine, JDK 25. Loads
 * from the global segment have nothing to check: its scope is always alive and its size is {@code Long.MAX_VALUE}.
 *
 * <p>What keeps it safe: {@link Tensor}'s constructor checks once that its segment holds all of its rows, and
 * {@link MatMul} checks the segment is alive on every call, so the kernels only read inside the matrix. What it does
 * not cover: a model closed (unmapped) while another thread is still multiplying with it; the engine closes a model
 * only after its loop has stopped. Heap segments (tests, small tensors) have no stable address and are passed as they
 * are, and the system property {@code baton.kernels.checked=true} (or {@link #checked}) makes every call use the
 * bounds-checked segment, to debug a kernel with {@code -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=2}.
 */
final class RawWeights {
    private RawWeights() {}

    /** The whole address space, readable at any absolute address (see the class comment for why this is safe here). */
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** When true, kernels read through the tensor's own segment (bounds- and liveness-checked on every load). */
    static volatile boolean checked = Boolean.getBoolean("baton.kernels.checked");

    /** The segment the kernels read {@code w} through. */
    static MemorySegment segment(Tensor w) {
        MemorySegment data = w.data();
        if (!data.scope().isAlive()) throw new IllegalStateException(w.name() + ": its memory was released (model closed?)");
        return direct(data) ? EVERYTHING : data;
    }

    /** Whether {@code segment} (from {@link #segment}) addresses native memory by absolute address. */
    static boolean isDirect(MemorySegment segment) {
        return segment == EVERYTHING;
    }

    /** Offset of {@code w}'s first byte within {@link #segment}. */
    static long base(Tensor w) {
        MemorySegment data = w.data();
        return direct(data) ? data.address() : 0;
    }

    private static boolean direct(MemorySegment data) {
        return data.isNative() && !checked;
    }
}
