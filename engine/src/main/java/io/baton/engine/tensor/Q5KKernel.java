package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q5_K weights (block_q5_K, 176 bytes per 256 elements; layout and formula in {@link Dequant}). As {@link Q4KKernel},
 * plus the fifth bit: the 32 {@code qh} bytes are loaded once per super-block, and chunk {@code c} takes bit
 * {@code 2c} (low nibbles) and bit {@code 2c+1} (high nibbles) of each, moved to bit 4.
 */
final class Q5KKernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F8), a1 = FloatVector.zero(F8), a2 = FloatVector.zero(F8), a3 = FloatVector.zero(F8);
        int blocks = n / Dequant.QK_K;
        for (int b = 0; b < blocks; b++) {
            long base = off + 176L * b;
            float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
            ByteVector h0 = ByteVector.fromMemorySegment(B8, w, base + 16, LE);
            ByteVector h1 = ByteVector.fromMemorySegment(B8, w, base + 24, LE);
            ByteVector h2 = ByteVector.fromMemorySegment(B8, w, base + 32, LE);
            ByteVector h3 = ByteVector.fromMemorySegment(B8, w, base + 40, LE);
            for (int c = 0; c < 4; c++) {
                int sm1 = Dequant.scaleMinK4(w, base + 4, 2 * c), sm2 = Dequant.scaleMinK4(w, base + 4, 2 * c + 1);
                FloatVector d1 = FloatVector.broadcast(F8, d * (sm1 & 0xff)), nm1 = FloatVector.broadcast(F8, -(dmin * (sm1 >>> 8)));
                FloatVector d2 = FloatVector.broadcast(F8, d * (sm2 & 0xff)), nm2 = FloatVector.broadcast(F8, -(dmin * (sm2 >>> 8)));
                long q = base + 48 + 32 * c;
                int xi = xOff + Dequant.QK_K * b + 64 * c;
                int shift = 2 * c;
                ByteVector g0 = h0.lanewise(VectorOperators.LSHR, shift), g1 = h1.lanewise(VectorOperators.LSHR, shift);
                ByteVector g2 = h2.lanewise(VectorOperators.LSHR, shift), g3 = h3.lanewise(VectorOperators.LSHR, shift);
                ByteVector b0 = ByteVector.fromMemorySegment(B8, w, q, LE);
                ByteVector b1 = ByteVector.fromMemorySegment(B8, w, q + 8, LE);
                ByteVector b2 = ByteVector.fromMemorySegment(B8, w, q + 16, LE);
                ByteVector b3 = ByteVector.fromMemorySegment(B8, w, q + 24, LE);
                a0 = ((FloatVector) low(b0, g0).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi), a0);
                a1 = ((FloatVector) low(b1, g1).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 8), a1);
                a2 = ((FloatVector) low(b2, g2).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 16), a2);
                a3 = ((FloatVector) low(b3, g3).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 24), a3);
                a0 = ((FloatVector) high(b0, g0).castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 32), a0);
                a1 = ((FloatVector) high(b1, g1).castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 40), a1);
                a2 = ((FloatVector) high(b2, g2).castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 48), a2);
                a3 = ((FloatVector) high(b3, g3).castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 56), a3);
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    /** Low nibbles of {@code q} plus bit 0 of {@code h} as bit 4: 5-bit values 0..31. (Small enough to be inlined.) */
    private static ByteVector low(ByteVector q, ByteVector h) {
        return q.and((byte) 0xF).or(h.and((byte) 1).lanewise(VectorOperators.LSHL, 4));
    }

    /** High nibbles of {@code q} plus bit 1 of {@code h} as bit 4. */
    private static ByteVector high(ByteVector q, ByteVector h) {
        return q.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 2).lanewise(VectorOperators.LSHL, 3));
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int blocks = n / Dequant.QK_K;
        for (int b = 0; b < blocks; b++) {
            long base = off + 176L * b;
            float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
            for (int c = 0; c < 4; c++) {
                int sm1 = Dequant.scaleMinK4(w, base + 4, 2 * c), sm2 = Dequant.scaleMinK4(w, base + 4, 2 * c + 1);
                FloatVector d1 = FloatVector.broadcast(F8, d * (sm1 & 0xff)), m1 = FloatVector.broadcast(F8, dmin * (sm1 >>> 8));
                FloatVector d2 = FloatVector.broadcast(F8, d * (sm2 & 0xff)), m2 = FloatVector.broadcast(F8, dmin * (sm2 >>> 8));
                long q = base + 48 + 32 * c;
                int y = outOff + Dequant.QK_K * b + 64 * c;
                for (int j = 0; j < 32; j += 8) {
                    ByteVector bj = ByteVector.fromMemorySegment(B8, w, q + j, LE);
                    ByteVector hj = ByteVector.fromMemorySegment(B8, w, base + 16 + j, LE).lanewise(VectorOperators.LSHR, 2 * c);
                    ((FloatVector) low(bj, hj).castShape(F8, 0)).mul(d1).sub(m1).intoArray(out, y + j);
                    ((FloatVector) high(bj, hj).castShape(F8, 0)).mul(d2).sub(m2).intoArray(out, y + 32 + j);
                }
            }
        }
    }
}
