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
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 34L * b;
            int xi = xOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F, Dequant.f16(w, o));
            FloatVector q0 = (FloatVector) ByteVector.fromMemorySegment(BL, w, o + 2, LE).castShape(F, 0);
            FloatVector q1 = (FloatVector) ByteVector.fromMemorySegment(BL, w, o + 18, LE).castShape(F, 0);
            acc0 = q0.mul(d).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = q1.mul(d).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
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
