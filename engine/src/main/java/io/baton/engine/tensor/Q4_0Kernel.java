package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.BL;
import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.I8;
import static io.baton.engine.tensor.Vec.L;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q4_0 weights (block_q4_0: f16 scale d, 16 bytes of nibbles; 18 bytes): the low nibbles of the 16 bytes are elements
 * 0-15, the high nibbles elements 16-31, each minus 8.
 */
final class Q4_0Kernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        return L == 16 ? dot16(w, off, x, xOff, n) : dot8(w, off, x, xOff, n);
    }

    /** 256 bits: each 8 bytes zero-extended to int lanes, where nibbles are masked and shifted; then to float. */
    private static float dot8(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc0 = FloatVector.zero(F8), acc1 = FloatVector.zero(F8);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 18L * b;
            int xi = xOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F8, Dequant.f16(w, o));
            IntVector i0 = (IntVector) ByteVector.fromMemorySegment(B8, w, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I8, 0);
            IntVector i1 = (IntVector) ByteVector.fromMemorySegment(B8, w, o + 10, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I8, 0);
            FloatVector q0 = (FloatVector) i0.and(15).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector q1 = (FloatVector) i1.and(15).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector q2 = (FloatVector) i0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector q3 = (FloatVector) i1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector s0 = q0.mul(FloatVector.fromArray(F8, x, xi));
            FloatVector s1 = q1.mul(FloatVector.fromArray(F8, x, xi + 8));
            s0 = q2.fma(FloatVector.fromArray(F8, x, xi + 16), s0);
            s1 = q3.fma(FloatVector.fromArray(F8, x, xi + 24), s1);
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** 512 bits: the 16 bytes in one load; low nibbles are elements 0-15, high nibbles 16-31. */
    private static float dot16(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 18L * b;
            int xi = xOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F, Dequant.f16(w, o));
            ByteVector v = ByteVector.fromMemorySegment(BL, w, o + 2, LE);
            ByteVector h = v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
            FloatVector q0 = (FloatVector) v.and((byte) 0x0F).sub((byte) 8).castShape(F, 0);
            FloatVector q1 = (FloatVector) h.and((byte) 0x0F).sub((byte) 8).castShape(F, 0);
            acc0 = q0.mul(d).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = q1.mul(d).fma(FloatVector.fromArray(F, x, xi + 16), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 18L * b;
            int y = outOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F8, Dequant.f16(w, o));
            ByteVector b0 = ByteVector.fromMemorySegment(B8, w, o + 2, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(B8, w, o + 10, LE);
            ByteVector h0 = b0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
            ByteVector h1 = b1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes();
            // (q - 8) * d, as dequantize_row_q4_0
            ((FloatVector) b0.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y);
            ((FloatVector) b1.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 8);
            ((FloatVector) h0.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 16);
            ((FloatVector) h1.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 24);
        }
    }
}
