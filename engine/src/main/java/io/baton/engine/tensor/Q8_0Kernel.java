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
 * summed, then scaled by d once. With 512-bit vectors, rows go in pairs sharing each activation load (7% faster in
 * cache, {@code MatMulBench.decode -p shape=896x896 -p footprintMB=1}).
 *
 * <p>The int8-to-float widening is what bounds this kernel: two {@code vpmovsxbd} + {@code vcvtdq2ps} per block, about
 * 12 instructions per 34 bytes. An equivalent C kernel (AVX-512 intrinsics, gcc -O2) ran at the same speed on this
 * machine. llama.cpp avoids the widening by quantizing the activations to int8 and using integer dot-product
 * instructions ({@code vpmaddubsw}, {@code vpdpbusd}), which the Vector API does not expose.
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

    @Override
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, int n, float[] tmp, float[] out, int outOff) {
        if (L != 16) {
            super.dotRows(w, off, rowBytes, rows, x, n, tmp, out, outOff);
            return;
        }
        int r = 0;
        for (; r + 2 <= rows; r += 2) dot16x2(w, off + r * rowBytes, rowBytes, x, n, out, outOff + r);
        if (r < rows) out[outOff + r] = dot16(w, off + r * rowBytes, x, 0, n);
    }

    /** Two rows at once: each activation vector is loaded once for both. */
    private static void dot16x2(MemorySegment w, long off, long rowBytes, float[] x, int n, float[] out, int o) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o0 = off + 34L * b, o1 = o0 + rowBytes;
            int xi = 32 * b;
            FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 16);
            FloatVector s0 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o0 + 2, LE).castShape(F, 0)).mul(x0);
            FloatVector s1 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o1 + 2, LE).castShape(F, 0)).mul(x0);
            s0 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o0 + 18, LE).castShape(F, 0)).fma(x1, s0);
            s1 = ((FloatVector) ByteVector.fromMemorySegment(BL, w, o1 + 18, LE).castShape(F, 0)).fma(x1, s1);
            acc0 = s0.fma(FloatVector.broadcast(F, Dequant.f16(w, o0)), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, Dequant.f16(w, o1)), acc1);
        }
        out[o] = acc0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = acc1.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int blocks = n / 32;
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
