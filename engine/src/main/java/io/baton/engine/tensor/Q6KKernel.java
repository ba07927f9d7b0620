package io.baton.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.baton.engine.tensor.Vec.B8;
import static io.baton.engine.tensor.Vec.F8;
import static io.baton.engine.tensor.Vec.LE;

/**
 * Q6_K weights (block_q6_K, 210 bytes per 256 elements; layout and formula in {@link Dequant}). For each half of a
 * super-block and each group of 8 positions {@code l}, three 64-bit loads ({@code ql[l]}, {@code ql[l+32]},
 * {@code qh[l]}) give the 6-bit quants of elements {@code l, l+32, l+64, l+96}; 32 is subtracted in the byte lanes.
 * Scales cover 16 elements, so each vector of 8 has one: {@code d * sc}.
 */
final class Q6KKernel extends RowKernel {

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F8), a1 = FloatVector.zero(F8), a2 = FloatVector.zero(F8), a3 = FloatVector.zero(F8);
        int blocks = n / Dequant.QK_K;
        for (int b = 0; b < blocks; b++) {
            long base = off + 210L * b;
            float d = Dequant.f16(w, base + 208);
            for (int half = 0; half < 2; half++) {
                long ql = base + 64 * half, qh = base + 128 + 32 * half, sc = base + 192 + 8 * half;
                int xi = xOff + Dequant.QK_K * b + 128 * half;
                for (int l = 0; l < 32; l += 8) {
                    int is = l / 16;
                    ByteVector lo = ByteVector.fromMemorySegment(B8, w, ql + l, LE);
                    ByteVector lo32 = ByteVector.fromMemorySegment(B8, w, ql + l + 32, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B8, w, qh + l, LE);
                    FloatVector q1 = (FloatVector) lo.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q2 = (FloatVector) lo32.and((byte) 0xF).or(h.and((byte) 0xC).lanewise(VectorOperators.LSHL, 2)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q3 = (FloatVector) lo.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q4 = (FloatVector) lo32.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32).castShape(F8, 0);
                    a0 = q1.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is)).fma(FloatVector.fromArray(F8, x, xi + l), a0);
                    a1 = q2.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2)).fma(FloatVector.fromArray(F8, x, xi + l + 32), a1);
                    a2 = q3.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 4)).fma(FloatVector.fromArray(F8, x, xi + l + 64), a2);
                    a3 = q4.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 6)).fma(FloatVector.fromArray(F8, x, xi + l + 96), a3);
                }
            }
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        int blocks = n / Dequant.QK_K;
        for (int b = 0; b < blocks; b++) {
            long base = off + 210L * b;
            float d = Dequant.f16(w, base + 208);
            for (int half = 0; half < 2; half++) {
                long ql = base + 64 * half, qh = base + 128 + 32 * half, sc = base + 192 + 8 * half;
                int y = outOff + Dequant.QK_K * b + 128 * half;
                for (int l = 0; l < 32; l += 8) {
                    int is = l / 16;
                    ByteVector lo = ByteVector.fromMemorySegment(B8, w, ql + l, LE);
                    ByteVector lo32 = ByteVector.fromMemorySegment(B8, w, ql + l + 32, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B8, w, qh + l, LE);
                    FloatVector q1 = (FloatVector) lo.and((byte) 0xF).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q2 = (FloatVector) lo32.and((byte) 0xF).or(h.and((byte) 0xC).lanewise(VectorOperators.LSHL, 2)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q3 = (FloatVector) lo.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32).castShape(F8, 0);
                    FloatVector q4 = (FloatVector) lo32.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32).castShape(F8, 0);
                    // (d * sc) * q, left to right as dequantize_row_q6_K
                    q1.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is)).intoArray(out, y + l);
                    q2.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2)).intoArray(out, y + l + 32);
                    q3.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 4)).intoArray(out, y + l + 64);
                    q4.mul(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 6)).intoArray(out, y + l + 96);
                }
            }
        }
    }
}
