package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q6_K weights (block_q6_K, 210 bytes per 256 elements; layout and formula in {@link Dequant}). For each half of a
 * super-block and each group of 8 positions {@code l}, three 64-bit loads ({@code ql[l]}, {@code ql[l+32]},
 * {@code qh[l]}) give the 6-bit quants of elements {@code l, l+32, l+64, l+96}; 32 is subtracted in the byte lanes.
 * Scales cover 16 elements, so each vector of 8 has one: {@code d * sc}. One half super-block per call (see {@link Vec}).
 */
final class Q6KKernel extends RowKernel {

    @Override
    boolean interleavesRows() {
        return true;
    }

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        float s = 0;
        for (int b = 0; b < n / Dequant.QK_K; b++) {
            long base = off + 210L * b;
            float d = Dequant.f16(w, base + 208);
            int xb = xOff + Dequant.QK_K * b;
            s += halfDot(w, base, base + 128, base + 192, d, x, xb);
            s += halfDot(w, base + 64, base + 160, base + 200, d, x, xb + 128);
        }
        return s;
    }

    private static float halfDot(MemorySegment w, long ql, long qh, long sc, float d, float[] x, int xi) {
        FloatVector a0 = FloatVector.zero(F8), a1 = FloatVector.zero(F8), a2 = FloatVector.zero(F8), a3 = FloatVector.zero(F8);
        long scales = w.get(Dequant.LE_LONG, sc); // the 8 int8 scales of this half, one load
        for (int l = 0; l < 32; l += 8) {
            int is = l / 16;
            ByteVector lo = ByteVector.fromMemorySegment(B8, w, ql + l, LE);
            ByteVector lo32 = ByteVector.fromMemorySegment(B8, w, ql + l + 32, LE);
            ByteVector h = ByteVector.fromMemorySegment(B8, w, qh + l, LE);
            ByteVector q1 = lo.and((byte) 0xF).or(h.and((byte) 3).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
            ByteVector q2 = lo32.and((byte) 0xF).or(h.and((byte) 0xC).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes());
            ByteVector q3 = lo.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF).or(h.and((byte) 0x30));
            ByteVector q4 = lo32.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h.and((byte) 0xC0).reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes());
            a0 = ((FloatVector) q1.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is)))).fma(FloatVector.fromArray(F8, x, xi + l), a0);
            a1 = ((FloatVector) q2.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 2)))).fma(FloatVector.fromArray(F8, x, xi + l + 32), a1);
            a2 = ((FloatVector) q3.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 4)))).fma(FloatVector.fromArray(F8, x, xi + l + 64), a2);
            a3 = ((FloatVector) q4.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 6)))).fma(FloatVector.fromArray(F8, x, xi + l + 96), a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / Dequant.QK_K; b++) {
            long base = off + 210L * b;
            float d = Dequant.f16(w, base + 208);
            int y = outOff + Dequant.QK_K * b;
            halfDequantize(w, base, base + 128, base + 192, d, out, y);
            halfDequantize(w, base + 64, base + 160, base + 200, d, out, y + 128);
        }
    }

    private static void halfDequantize(MemorySegment w, long ql, long qh, long sc, float d, float[] out, int y) {
        long scales = w.get(Dequant.LE_LONG, sc); // the 8 int8 scales of this half, one load
        for (int l = 0; l < 32; l += 8) {
            int is = l / 16;
            ByteVector lo = ByteVector.fromMemorySegment(B8, w, ql + l, LE);
            ByteVector lo32 = ByteVector.fromMemorySegment(B8, w, ql + l + 32, LE);
            ByteVector h = ByteVector.fromMemorySegment(B8, w, qh + l, LE);
            ByteVector q1 = lo.and((byte) 0xF).or(h.and((byte) 3).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 4).reinterpretAsBytes());
            ByteVector q2 = lo32.and((byte) 0xF).or(h.and((byte) 0xC).reinterpretAsShorts().lanewise(VectorOperators.LSHL, 2).reinterpretAsBytes());
            ByteVector q3 = lo.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF).or(h.and((byte) 0x30));
            ByteVector q4 = lo32.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF)
                    .or(h.and((byte) 0xC0).reinterpretAsShorts().lanewise(VectorOperators.LSHR, 2).reinterpretAsBytes());
            // (d * sc) * q, left to right as dequantize_row_q6_K
            ((FloatVector) q1.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is)))).intoArray(out, y + l);
            ((FloatVector) q2.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 2)))).intoArray(out, y + l + 32);
            ((FloatVector) q3.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 4)))).intoArray(out, y + l + 64);
            ((FloatVector) q4.sub((byte) 32).castShape(F8, 0)).mul(d * (byte) (scales >>> (8 * (is + 6)))).intoArray(out, y + l + 96);
        }
    }
}
