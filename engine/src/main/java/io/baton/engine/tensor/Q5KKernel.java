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
 * plus the fifth bit: the 32 {@code qh} bytes are loaded once per super-block; chunk {@code c} needs bit {@code 2c}
 * (low nibbles) and {@code 2c+1} (high nibbles) of each, so after each chunk the {@code qh} vectors shift right by 2
 * (bits that enter from the neighbouring byte of a 16-bit lane never reach bits 0-1 within the 3 shifts).
 */
final class Q5KKernel extends RowKernel {

    @Override
    boolean interleavesRows() {
        return true;
    }

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        float s = 0;
        for (int b = 0; b < n / Dequant.QK_K; b++) s += blockDot(w, off + 176L * b, x, xOff + Dequant.QK_K * b);
        return s;
    }

    private static float blockDot(MemorySegment w, long base, float[] x, int xb) {
        FloatVector a0 = FloatVector.zero(F8), a1 = FloatVector.zero(F8), a2 = FloatVector.zero(F8), a3 = FloatVector.zero(F8);
        float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
        long scLo = w.get(Dequant.LE_LONG, base + 4);
        int scHi = w.get(Dequant.LE_INT, base + 12);
        ByteVector h0 = ByteVector.fromMemorySegment(B8, w, base + 16, LE);
        ByteVector h1 = ByteVector.fromMemorySegment(B8, w, base + 24, LE);
        ByteVector h2 = ByteVector.fromMemorySegment(B8, w, base + 32, LE);
        ByteVector h3 = ByteVector.fromMemorySegment(B8, w, base + 40, LE);
        for (int c = 0; c < 4; c++) {
            int sm1 = Dequant.scaleMinK4(scLo, scHi, 2 * c), sm2 = Dequant.scaleMinK4(scLo, scHi, 2 * c + 1);
            FloatVector d1 = FloatVector.broadcast(F8, d * (sm1 & 0xff)), nm1 = FloatVector.broadcast(F8, -(dmin * (sm1 >>> 8)));
            FloatVector d2 = FloatVector.broadcast(F8, d * (sm2 & 0xff)), nm2 = FloatVector.broadcast(F8, -(dmin * (sm2 >>> 8)));
            long q = base + 48 + 32 * c;
            int xi = xb + 64 * c;
            ByteVector q0 = ByteVector.fromMemorySegment(B8, w, q + 0, LE);
            a0 = ((FloatVector) q0.and((byte) 0xF).or(h0.and((byte) 1).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 0), a0);
            a0 = ((FloatVector) q0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h0.and((byte) 2).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 32), a0);
            ByteVector q1 = ByteVector.fromMemorySegment(B8, w, q + 8, LE);
            a1 = ((FloatVector) q1.and((byte) 0xF).or(h1.and((byte) 1).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 8), a1);
            a1 = ((FloatVector) q1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h1.and((byte) 2).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 40), a1);
            ByteVector q2 = ByteVector.fromMemorySegment(B8, w, q + 16, LE);
            a2 = ((FloatVector) q2.and((byte) 0xF).or(h2.and((byte) 1).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 16), a2);
            a2 = ((FloatVector) q2.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h2.and((byte) 2).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 48), a2);
            ByteVector q3 = ByteVector.fromMemorySegment(B8, w, q + 24, LE);
            a3 = ((FloatVector) q3.and((byte) 0xF).or(h3.and((byte) 1).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 24), a3);
            a3 = ((FloatVector) q3.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h3.and((byte) 2).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes()).castShape(F8, 0))
                    .fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 56), a3);
            h0 = h0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
            h1 = h1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
            h2 = h2.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
            h3 = h3.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / Dequant.QK_K; b++) blockDequantize(w, off + 176L * b, out, outOff + Dequant.QK_K * b);
    }

    private static void blockDequantize(MemorySegment w, long base, float[] out, int yb) {
        float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
        long scLo = w.get(Dequant.LE_LONG, base + 4);
        int scHi = w.get(Dequant.LE_INT, base + 12);
        for (int j = 0; j < 32; j += 8) {
            ByteVector h = ByteVector.fromMemorySegment(B8, w, base + 16 + j, LE);
            for (int c = 0; c < 4; c++) {
                int sm1 = Dequant.scaleMinK4(scLo, scHi, 2 * c), sm2 = Dequant.scaleMinK4(scLo, scHi, 2 * c + 1);
                ByteVector q = ByteVector.fromMemorySegment(B8, w, base + 48 + 32 * c + j, LE);
                ByteVector lo = q.and((byte) 0xF)
                        .or(h.and((byte) 1).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
                ByteVector hi = q.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                        .or(h.and((byte) 2).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 3).reinterpretAsBytes());
                int y = yb + 64 * c + j;
                // d1 * q - m1 as two rounded operations, as dequantize_row_q5_K
                ((FloatVector) lo.castShape(F8, 0)).mul(d * (sm1 & 0xff)).sub(dmin * (sm1 >>> 8)).intoArray(out, y);
                ((FloatVector) hi.castShape(F8, 0)).mul(d * (sm2 & 0xff)).sub(dmin * (sm2 >>> 8)).intoArray(out, y + 32);
                h = h.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes();
            }
        }
    }
}
