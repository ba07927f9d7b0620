package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q4_0 weights (block_q4_0: f16 scale d, 16 bytes of nibbles; 18 bytes). Bytes 0-7 and 8-15 are loaded as two 64-bit
 * vectors; their low nibbles are elements 0-15, their high nibbles elements 16-31; 8 is subtracted in the byte lanes.
 */
final class Q4_0Kernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        FloatVector acc0 = FloatVector.zero(F8), acc1 = FloatVector.zero(F8);
        int blocks = n / 32;
        for (int b = 0; b < blocks; b++) {
            long o = off + 18L * b;
            int xi = xOff + 32 * b;
            FloatVector d = FloatVector.broadcast(F8, Dequant.f16(w, o));
            ByteVector b0 = ByteVector.fromMemorySegment(B8, w, o + 2, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(B8, w, o + 10, LE);
            FloatVector q0 = (FloatVector) b0.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0);
            FloatVector q1 = (FloatVector) b1.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0);
            FloatVector q2 = (FloatVector) b0.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F8, 0);
            FloatVector q3 = (FloatVector) b1.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F8, 0);
            FloatVector s0 = q0.mul(FloatVector.fromArray(F8, x, xi));
            FloatVector s1 = q1.mul(FloatVector.fromArray(F8, x, xi + 8));
            s0 = q2.fma(FloatVector.fromArray(F8, x, xi + 16), s0);
            s1 = q3.fma(FloatVector.fromArray(F8, x, xi + 24), s1);
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
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
            ((FloatVector) b0.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y);
            ((FloatVector) b1.and((byte) 0x0F).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 8);
            ((FloatVector) b0.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 16);
            ((FloatVector) b1.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).castShape(F8, 0)).mul(d).intoArray(out, y + 24);
        }
    }
}
