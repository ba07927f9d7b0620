package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.IL;
import static io.baton.engine.tensor.Vec.L;
import static io.baton.engine.tensor.Vec.LE;
import static io.baton.engine.tensor.Vec.SL;

/**
 * IEEE half weights.
 *
 * <p>The Vector API of JDK 25 has no half-to-float conversion, so {@link #dot} converts in registers with the
 * exponent-rebias trick: a half's 15 magnitude bits shifted left by 13 are a float whose exponent is 112 too small, for
 * normal and subnormal halves alike, so one multiplication by 2^112 (a power of two: exact) gives the half's value, and
 * the sign bit is put in place by the same shift. Halves whose exponent is all ones (infinities, NaN) would come out
 * finite, so the loop also keeps the largest exponent field it saw, and a row that holds one is recomputed exactly
 * with {@link Float#float16ToFloat} (real checkpoints have none; the check costs two integer operations per vector).
 * Decode with this kernel read about 4x the bytes per second of the earlier one, which converted chunks through a float
 * scratch array with {@code Float.float16ToFloat} and left the memory system idle between them.
 */
final class F16Kernel extends RowKernel {

    /** The half's exponent field. */
    private static final int EXPONENT = 0x7C00;
    /** After the shift by 13: the sign bit (bit 31) and the half's 15 magnitude bits (bits 13..27). */
    private static final int SIGN_AND_MAGNITUDE = 0x8FFFE000;
    /** Float exponent bias minus half exponent bias, as a factor: 2^(127 - 15). */
    private static final float REBIAS = 0x1p112f;

    /**
     * Four rows a quarter of the range apart in one loop: four memory streams at once (see {@link RowKernel#dotRows})
     * and each activation vector loaded once for the four rows. A row among the four that holds an infinity or NaN
     * makes the four be recomputed one by one.
     */
    @Override
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, int n, float[] tmp, float[] out, int outOff) {
        int q = rows / 4;
        for (int i = 0; i < q; i++) {
            long o = off + i * rowBytes, stride = q * rowBytes;
            if (!dot4(w, o, stride, x, n, out, outOff + i, q)) {
                for (int k = 0; k < 4; k++) out[outOff + i + k * q] = dot(w, o + k * stride, x, 0, n, tmp);
            }
        }
        for (int r = 4 * q; r < rows; r++) out[outOff + r] = dot(w, off + r * rowBytes, x, 0, n, tmp);
    }

    /**
     * Rows at {@code off + k * stride} for k = 0..3 into {@code out[o + k * ostride]}; false (and nothing trustworthy
     * written) when one of them holds an infinity or NaN.
     */
    private static boolean dot4(MemorySegment w, long off, long stride, float[] x, int n, float[] out, int o, int ostride) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        IntVector top = IntVector.zero(IL);
        int i = 0;
        for (; i + L <= n; i += L) {
            long o0 = off + 2L * i, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
            FloatVector xv = FloatVector.fromArray(F, x, i);
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(SL, w, o0, LE).castShape(IL, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(SL, w, o1, LE).castShape(IL, 0);
            IntVector h2 = (IntVector) ShortVector.fromMemorySegment(SL, w, o2, LE).castShape(IL, 0);
            IntVector h3 = (IntVector) ShortVector.fromMemorySegment(SL, w, o3, LE).castShape(IL, 0);
            top = top.max(h0.and(EXPONENT)).max(h1.and(EXPONENT)).max(h2.and(EXPONENT)).max(h3.and(EXPONENT));
            a0 = toFloats(h0).fma(xv, a0);
            a1 = toFloats(h1).fma(xv, a1);
            a2 = toFloats(h2).fma(xv, a2);
            a3 = toFloats(h3).fma(xv, a3);
        }
        if (top.reduceLanes(VectorOperators.MAX) == EXPONENT) return false;
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float h0 = half(w, off + 2L * i), h1 = half(w, off + stride + 2L * i);
            float h2 = half(w, off + 2 * stride + 2L * i), h3 = half(w, off + 3 * stride + 2L * i);
            if (!Float.isFinite(h0) || !Float.isFinite(h1) || !Float.isFinite(h2) || !Float.isFinite(h3)) return false;
            s0 += h0 * x[i];
            s1 += h1 * x[i];
            s2 += h2 * x[i];
            s3 += h3 * x[i];
        }
        out[o] = s0;
        out[o + ostride] = s1;
        out[o + 2 * ostride] = s2;
        out[o + 3 * ostride] = s3;
        return true;
    }

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        IntVector top = IntVector.zero(IL);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            long o = off + 2L * i;
            IntVector h0 = (IntVector) ShortVector.fromMemorySegment(SL, w, o, LE).castShape(IL, 0);
            IntVector h1 = (IntVector) ShortVector.fromMemorySegment(SL, w, o + 2L * L, LE).castShape(IL, 0);
            top = top.max(h0.and(EXPONENT)).max(h1.and(EXPONENT));
            a0 = toFloats(h0).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = toFloats(h1).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        if (top.reduceLanes(VectorOperators.MAX) == EXPONENT) return exactDot(w, off, x, xOff, n);
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += half(w, off + 2L * i) * x[xOff + i];
        return s;
    }

    /** Halves (one per int lane, sign-extended) to floats by the exponent rebias above; infinities and NaN come out wrong. */
    private static FloatVector toFloats(IntVector h) {
        return h.lanewise(VectorOperators.LSHL, 13).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS);
    }

    /** The plain loop, for rows holding an infinity or NaN: they propagate as in the reference. */
    private static float exactDot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += half(w, off + 2L * i) * x[xOff + i];
        return s;
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        // Prefill converts a few rows once and reuses them for many tokens: the JIT vectorizes this loop (vcvtph2ps).
        for (int i = 0; i < n; i++) out[outOff + i] = half(w, off + 2L * i);
    }

    private static float half(MemorySegment w, long at) {
        return Float.float16ToFloat(w.get(Dequant.LE_SHORT, at));
    }
}
