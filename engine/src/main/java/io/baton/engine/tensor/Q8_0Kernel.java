package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.BL;
import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.L;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q8_0 weights (block_q8_0: f16 scale d, 32 int8 quants; 34 bytes). Each block is read as four 64-bit loads (or two
 * 128-bit loads with 512-bit vectors), each widened to floats with {@code castShape}; the block's products with x are
 * summed, then scaled by d once.
 *
 * <p>What bounds it: in cache, the int8-to-float widening (two {@code vpmovsxbd} + {@code vcvtdq2ps} per block,
 * about 12 instructions per 34 bytes; an equivalent C kernel with AVX-512 intrinsics ran at the same speed on this
 * machine); from memory, how many loads are in flight ({@link #dotRows}). llama.cpp avoids the widening by quantizing
 * the activations to int8 and using integer dot-product instructions ({@code vpmaddubsw}, {@code vpdpbusd}), which
 * the Vector API does not expose.
 */
final class Q8_0Kernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        return L == 16 ? dot16(w, off, x, xOff, n) : dot8(w, off, x, xOff, n);
    }

    private static float dot8(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc0 = FloatVector.zero(F8), acc1 = FloatVector.zero(F8);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            int xi = xOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F8, Dequant.f16(w, o));
            FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 2, LE).castShape(F8, 0);
            FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 10, LE).castShape(F8, 0);
            FloatVector q2 = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 18, LE).castShape(F8, 0);
            FloatVector q3 = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 26, LE).castShape(F8, 0);
            FloatVector s0 = q0.mul(FloatVector.fromArray(F8, x, xi));
            FloatVector s1 = q1.mul(FloatVector.fromArray(F8, x, xi + 8));
            s0 = q2.fma(FloatVector.fromArray(F8, x, xi + 16), s0);
            s1 = q3.fma(FloatVector.fromArray(F8, x, xi + 24), s1);
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    private static float dot16(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            int xi = xOff + 32 * b;
            FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(BL, w, o + 2, LE).castShape(F, 0);
            FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(BL, w, o + 18, LE).castShape(F, 0);
            FloatVector s = q0.mul(FloatVector.fromArray(F, x, xi));
            s = q1.fma(FloatVector.fromArray(F, x, xi + 16), s);
            acc = s.fma(FloatVector.broadcast(F, Dequant.f16(w, o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * With 512-bit vectors, four rows a quarter of the range apart in one loop ({@link #dot16x4}): four memory streams
     * instead of one (see {@link RowKernel#dotRows}), and each activation vector loaded once for the four rows. 1.7x
     * the bandwidth of row-by-row in {@code MatMulBench.decode} (8.6 vs 5.0 GB/s, one thread), 1.5x tg tokens/s.
     */
    @Override
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, float[] xk, int n, float[] tmp,
                 float[] out, int outOff) {
        if (L != 16 || rows < 4) {
            super.dotRows(w, off, rowBytes, rows, x, xk, n, tmp, out, outOff);
            return;
        }
        int q = rows / 4;
        for (int i = 0; i < q; i++) dot16x4(w, off + i * rowBytes, q * rowBytes, x, n, out, outOff + i, q);
        for (int r = 4 * q; r < rows; r++) out[outOff + r] = dot16(w, off + r * rowBytes, x, 0, n);
    }

    @Override
    int smallBatchTokens() {
        return SMALL_BATCH;
    }

    /**
     * Most tokens for {@link #dotTokens}. JMH {@code MatMulBench.prefill} (weights in cache) and {@code batch} (weights
     * from memory), qwen2.5-0.5b shapes, 2 threads, against the prefill path's panel and tiles: 4 tokens 1.4-1.9x,
     * 8 tokens 1.0-1.4x, 16 tokens about equal, 32 and 64 tokens slower. In the engine ({@code baton bench engine
     * --batch 4,8,16}, alternating runs) 4 sequences gained ~20%, 8 about equal, and 16 lost: the tiles do 12 FMAs per
     * 7 loads from L1, this kernel 8 FMAs per 2 dequantized vectors and 4 loads, which only pays while the panel's
     * dequantization is shared by few tokens. With the packed 4x4 tiles of 512-bit vectors ({@link Gemm#FOUR_TOKENS})
     * the tiles won from 5 tokens on (engine, alternating runs: batch 5 70-82 against 49-57 tok/s, batch 6 67-87
     * against 54-68, batch 8 100-106 against 69-89; batch 4 64-79 against 72-82 and batch 7 mixed), so this kernel
     * keeps 4 tokens there and 8 with 256-bit vectors (not re-measured).
     */
    static final int SMALL_BATCH = Gemm.FOUR_TOKENS ? 4 : 8;

    /**
     * Two rows by four tokens at a time: each weight vector is dequantized once in registers ({@code q * d}, as
     * dequantize_row_q8_0) and multiplied with the four tokens' activations into eight accumulators (ten vectors
     * live with the weights and one activation: fits the 16 registers of AVX2). The two rows stay in L1 while the
     * groups of four tokens go by. A missing second row or token reuses the last one and is not stored.
     */
    @Override
    void dotTokens(MemorySegment w, long off, long rowBytes, int rows, float[] x, int tokens, int n, float[] out,
                   int outRow, int outStride) {
        int blocks = n / 32;
        for (int t = 0; t < tokens; t += 4) {
            int x0 = t * n, x1 = Math.min(t + 1, tokens - 1) * n;
            int x2 = Math.min(t + 2, tokens - 1) * n, x3 = Math.min(t + 3, tokens - 1) * n;
            for (int r = 0; r < rows; r += 2) {
                long r0 = off + r * rowBytes, r1 = r + 1 < rows ? r0 + rowBytes : r0;
                FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                for (int b = 0; b < blocks; b++) {
                    long p0 = r0 + 34L * b, p1 = r1 + 34L * b;
                    FloatVector d0 = FloatVector.broadcast(F, Dequant.f16(w, p0));
                    FloatVector d1 = FloatVector.broadcast(F, Dequant.f16(w, p1));
                    for (int j = 0; j < 32; j += L) {
                        int c = 32 * b + j;
                        FloatVector w0 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, p0 + 2 + j, LE).castShape(F, 0)).mul(d0);
                        FloatVector w1 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, p1 + 2 + j, LE).castShape(F, 0)).mul(d1);
                        FloatVector xv = FloatVector.fromArray(F, x, x0 + c);
                        a00 = w0.fma(xv, a00);
                        a10 = w1.fma(xv, a10);
                        xv = FloatVector.fromArray(F, x, x1 + c);
                        a01 = w0.fma(xv, a01);
                        a11 = w1.fma(xv, a11);
                        xv = FloatVector.fromArray(F, x, x2 + c);
                        a02 = w0.fma(xv, a02);
                        a12 = w1.fma(xv, a12);
                        xv = FloatVector.fromArray(F, x, x3 + c);
                        a03 = w0.fma(xv, a03);
                        a13 = w1.fma(xv, a13);
                    }
                }
                int o = t * outStride + outRow + r;
                boolean second = r + 1 < rows;
                out[o] = a00.reduceLanes(VectorOperators.ADD);
                if (second) out[o + 1] = a10.reduceLanes(VectorOperators.ADD);
                if (t + 1 < tokens) {
                    out[o + outStride] = a01.reduceLanes(VectorOperators.ADD);
                    if (second) out[o + outStride + 1] = a11.reduceLanes(VectorOperators.ADD);
                }
                if (t + 2 < tokens) {
                    out[o + 2 * outStride] = a02.reduceLanes(VectorOperators.ADD);
                    if (second) out[o + 2 * outStride + 1] = a12.reduceLanes(VectorOperators.ADD);
                }
                if (t + 3 < tokens) {
                    out[o + 3 * outStride] = a03.reduceLanes(VectorOperators.ADD);
                    if (second) out[o + 3 * outStride + 1] = a13.reduceLanes(VectorOperators.ADD);
                }
            }
        }
    }

    /** Rows at {@code off + k * stride} for k = 0..3 into {@code out[o + k * ostride]}. */
    private static void dot16x4(MemorySegment w, long off, long stride, float[] x, int n, float[] out, int o, int ostride) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o0 = off + 34L * b, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
            int xi = 32 * b;
            FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 16);
            FloatVector s0 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o0 + 2, LE).castShape(F, 0)).mul(x0);
            FloatVector s1 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o1 + 2, LE).castShape(F, 0)).mul(x0);
            FloatVector s2 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o2 + 2, LE).castShape(F, 0)).mul(x0);
            FloatVector s3 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o3 + 2, LE).castShape(F, 0)).mul(x0);
            s0 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o0 + 18, LE).castShape(F, 0)).fma(x1, s0);
            s1 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o1 + 18, LE).castShape(F, 0)).fma(x1, s1);
            s2 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o2 + 18, LE).castShape(F, 0)).fma(x1, s2);
            s3 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o3 + 18, LE).castShape(F, 0)).fma(x1, s3);
            acc0 = s0.fma(FloatVector.broadcast(F, Dequant.f16(w, o0)), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, Dequant.f16(w, o1)), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, Dequant.f16(w, o2)), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, Dequant.f16(w, o3)), acc3);
        }
        out[o] = acc0.reduceLanes(VectorOperators.ADD);
        out[o + ostride] = acc1.reduceLanes(VectorOperators.ADD);
        out[o + 2 * ostride] = acc2.reduceLanes(VectorOperators.ADD);
        out[o + 3 * ostride] = acc3.reduceLanes(VectorOperators.ADD);
    }

    /** With 512-bit vectors, each block's two vectors go straight to their packed places (no staging row). */
    @Override
    void dequantizePacked(MemorySegment w, long off, float[] p, int r, int n, float[] row) {
        if (L != 16) {
            super.dequantizePacked(w, off, p, r, n, row);
            return;
        }
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            FloatVector d = FloatVector.broadcast(F, Dequant.f16(w, o));
            // q * d, as dequantize_row_q8_0; vector j of row r at p[(j * 4 + r) * L]
            ((FloatVector) ByteVector.fromMemorySegment(BL, w, o + 2, LE).castShape(F, 0)).mul(d).intoArray(p, (8 * b + r) * L);
            ((FloatVector) ByteVector.fromMemorySegment(BL, w, o + 18, LE).castShape(F, 0)).mul(d).intoArray(p, (8 * b + 4 + r) * L);
        }
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int blocks = n / 32;
        if (L == 16) {
            // Two 128-bit loads per block, each widened to 16 floats: half the instructions of the 8-lane loop below
            // (the outer-product prefill path; the tile path writes packed panels with dequantizePacked).
            for (int b = 0; b < blocks; b++) {
                long o = off + 34L * b;
                int y = outOff + 32 * b;
                FloatVector d = FloatVector.broadcast(F, Dequant.f16(w, o));
                ((FloatVector) ByteVector.fromMemorySegment(BL, w, o + 2, LE).castShape(F, 0)).mul(d).intoArray(out, y);
                ((FloatVector) ByteVector.fromMemorySegment(BL, w, o + 18, LE).castShape(F, 0)).mul(d).intoArray(out, y + 16);
            }
            return;
        }
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            int y = outOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F8, Dequant.f16(w, o));
            // q * d, as dequantize_row_q8_0
            ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 2, LE).castShape(F8, 0)).mul(d).intoArray(out, y);
            ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 10, LE).castShape(F8, 0)).mul(d).intoArray(out, y + 8);
            ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 18, LE).castShape(F8, 0)).mul(d).intoArray(out, y + 16);
            ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 26, LE).castShape(F8, 0)).mul(d).intoArray(out, y + 24);
        }
    }
}
