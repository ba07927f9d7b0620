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
 * Q4_K weights (block_q4_K, 144 bytes per 256 elements; layout and formula in {@link Dequant}). Per chunk of 64
 * elements the two sub-block scales and mins are unpacked once; each 64-bit load of 8 quant bytes gives 8 elements
 * (low nibbles) and the 8 elements 32 further (high nibbles). One super-block per method call (see {@link Vec}).
 */
final class Q4KKernel extends RowKernel {

    @Override
    boolean interleavesRows() {
        return true;
    }

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        float s = 0;
        if (L == 16) {
            for (int b = 0; b < n / Dequant.QK_K; b++) s += blockDot16(w, off + 144L * b, x, xOff + Dequant.QK_K * b);
        } else {
            for (int b = 0; b < n / Dequant.QK_K; b++) s += blockDot(w, off + 144L * b, x, xOff + Dequant.QK_K * b);
        }
        return s;
    }

    /** 512 bits: a chunk's 32 quant bytes in two 128-bit loads, 16 elements per vector. */
    private static float blockDot16(MemorySegment w, long base, float[] x, int xb) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
        long scLo = w.get(Dequant.LE_LONG, base + 4);
        int scHi = w.get(Dequant.LE_INT, base + 12);
        for (int c = 0; c < 4; c++) {
            int sm1 = Dequant.scaleMinK4(scLo, scHi, 2 * c), sm2 = Dequant.scaleMinK4(scLo, scHi, 2 * c + 1);
            FloatVector d1 = FloatVector.broadcast(F, d * (sm1 & 0xff)), nm1 = FloatVector.broadcast(F, -(dmin * (sm1 >>> 8)));
            FloatVector d2 = FloatVector.broadcast(F, d * (sm2 & 0xff)), nm2 = FloatVector.broadcast(F, -(dmin * (sm2 >>> 8)));
            long q = base + 16 + 32 * c;
            int xi = xb + 64 * c;
            ByteVector b0 = ByteVector.fromMemorySegment(BL, w, q, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(BL, w, q + 16, LE);
            a0 = ((FloatVector) b0.and((byte) 0xF).castShape(F, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F, x, xi), a0);
            a1 = ((FloatVector) b1.and((byte) 0xF).castShape(F, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F, x, xi + 16), a1);
            b0 = b0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            b1 = b1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            a0 = ((FloatVector) b0.castShape(F, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F, x, xi + 32), a0);
            a1 = ((FloatVector) b1.castShape(F, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F, x, xi + 48), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    private static float blockDot(MemorySegment w, long base, float[] x, int xb) {
        FloatVector a0 = FloatVector.zero(F8), a1 = FloatVector.zero(F8), a2 = FloatVector.zero(F8), a3 = FloatVector.zero(F8);
        float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
        long scLo = w.get(Dequant.LE_LONG, base + 4);
        int scHi = w.get(Dequant.LE_INT, base + 12);
        for (int c = 0; c < 4; c++) {
            int sm1 = Dequant.scaleMinK4(scLo, scHi, 2 * c), sm2 = Dequant.scaleMinK4(scLo, scHi, 2 * c + 1);
            FloatVector d1 = FloatVector.broadcast(F8, d * (sm1 & 0xff)), nm1 = FloatVector.broadcast(F8, -(dmin * (sm1 >>> 8)));
            FloatVector d2 = FloatVector.broadcast(F8, d * (sm2 & 0xff)), nm2 = FloatVector.broadcast(F8, -(dmin * (sm2 >>> 8)));
            long q = base + 16 + 32 * c;
            int xi = xb + 64 * c;
            ByteVector b0 = ByteVector.fromMemorySegment(B8, w, q, LE);
            ByteVector b1 = ByteVector.fromMemorySegment(B8, w, q + 8, LE);
            ByteVector b2 = ByteVector.fromMemorySegment(B8, w, q + 16, LE);
            ByteVector b3 = ByteVector.fromMemorySegment(B8, w, q + 24, LE);
            a0 = ((FloatVector) b0.and((byte) 0xF).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi), a0);
            a1 = ((FloatVector) b1.and((byte) 0xF).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 8), a1);
            a2 = ((FloatVector) b2.and((byte) 0xF).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 16), a2);
            a3 = ((FloatVector) b3.and((byte) 0xF).castShape(F8, 0)).fma(d1, nm1).fma(FloatVector.fromArray(F8, x, xi + 24), a3);
            b0 = b0.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            b1 = b1.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            b2 = b2.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            b3 = b3.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
            a0 = ((FloatVector) b0.castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 32), a0);
            a1 = ((FloatVector) b1.castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 40), a1);
            a2 = ((FloatVector) b2.castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 48), a2);
            a3 = ((FloatVector) b3.castShape(F8, 0)).fma(d2, nm2).fma(FloatVector.fromArray(F8, x, xi + 56), a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / Dequant.QK_K; b++) blockDequantize(w, off + 144L * b, out, outOff + Dequant.QK_K * b);
    }

    private static void blockDequantize(MemorySegment w, long base, float[] out, int yb) {
        float d = Dequant.f16(w, base), dmin = Dequant.f16(w, base + 2);
        long scLo = w.get(Dequant.LE_LONG, base + 4);
        int scHi = w.get(Dequant.LE_INT, base + 12);
        for (int c = 0; c < 4; c++) {
            int sm1 = Dequant.scaleMinK4(scLo, scHi, 2 * c), sm2 = Dequant.scaleMinK4(scLo, scHi, 2 * c + 1);
            FloatVector d1 = FloatVector.broadcast(F8, d * (sm1 & 0xff)), m1 = FloatVector.broadcast(F8, dmin * (sm1 >>> 8));
            FloatVector d2 = FloatVector.broadcast(F8, d * (sm2 & 0xff)), m2 = FloatVector.broadcast(F8, dmin * (sm2 >>> 8));
            long q = base + 16 + 32 * c;
            int y = yb + 64 * c;
            for (int j = 0; j < 32; j += 8) {
                ByteVector bj = ByteVector.fromMemorySegment(B8, w, q + j, LE);
                ByteVector hj = bj.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF);
                // d1 * q - m1 as two rounded operations, as dequantize_row_q4_K
                ((FloatVector) bj.and((byte) 0xF).castShape(F8, 0)).mul(d1).sub(m1).intoArray(out, y + j);
                ((FloatVector) hj.castShape(F8, 0)).mul(d2).sub(m2).intoArray(out, y + 32 + j);
            }
        }
    }
}
