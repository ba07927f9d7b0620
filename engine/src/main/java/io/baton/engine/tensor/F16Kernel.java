package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.IL;
import static io.baton.engine.tensor.Vec.L;
import static io.baton.engine.tensor.Vec.LE;

/**
 * IEEE half weights.
 *
 * <p>The Vector API of JDK 25 has no half-to-float conversion, so the decode kernel converts in registers with the
 * exponent-rebias trick: a half's 15 magnitude bits placed at bits 13..27 of an int, with its sign at bit 31, are a
 * float whose exponent is 112 too small, for normal and subnormal halves alike, so one multiplication by 2^112 (a power
 * of two: exact) gives the half's value. Two halves are converted per int lane: an int vector loaded straight from the
 * row holds the even-indexed halves in its low 16 bits and the odd-indexed ones in its high 16 bits. An arithmetic
 * shift right by 3 puts the high half in place (its sign copied into bits 28..30, which a mask clears); the low half
 * is first shifted left by 16. That is 5 integer operations for two vectors of floats, where widening each half to an
 * int lane first cost 3 per vector; the activations are split into even and odd columns once per matrix product to
 * match ({@link #decodeActivations}). In the L2 cache this kernel streams about twice the bytes per second of the
 * widening one (JMH {@code MatMulBench.decode}, 4 MB footprint, one thread: 72 vs 37 GB/s).
 *
 * <p>Halves whose exponent is all ones (infinities, NaN) would come out finite. Real checkpoints have none, so rather
 * than test every vector, each matrix is scanned once, on its first product ({@link #allFinite}), and a matrix that
 * holds one is multiplied with the plain loop, where they propagate as in the reference.
 */
final class F16Kernel extends RowKernel {

    /** The half's exponent field. */
    private static final int EXPONENT = 0x7C00;
    /** After the shifts: the sign bit (bit 31) and the half's 15 magnitude bits (bits 13..27). */
    private static final int SIGN_AND_MAGNITUDE = 0x8FFFE000;
    /** Float exponent bias minus half exponent bias, as a factor: 2^(127 - 15). */
    private static final float REBIAS = 0x1p112f;

    /** Whether each matrix seen holds only finite halves; weak keys, so a closed model's entries go with it. */
    private static final Map<Tensor, Boolean> FINITE = Collections.synchronizedMap(new WeakHashMap<>());
    /** The calling thread's split activations (the workers read them during the product; see {@link MatMul}). */
    private static final ThreadLocal<float[]> SPLIT = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Columns {@code 0 .. 2h} of {@code x} split into even ones ({@code [0, h)}) and odd ones ({@code [h, 2h)}), with
     * {@code h} the largest multiple of the vector length such that {@code 2h <= n}; the remaining columns are
     * computed from {@code x} itself. Null for a matrix holding an infinity or NaN.
     */
    @Override
    float[] decodeActivations(Tensor w, float[] x, int n) {
        if (!allFinite(w)) return null;
        int h = n / (2 * L) * L;
        float[] split = SPLIT.get();
        if (split.length < 2 * h) {
            split = new float[2 * h];
            SPLIT.set(split);
        }
        for (int i = 0; i < h; i++) {
            split[i] = x[2 * i];
            split[h + i] = x[2 * i + 1];
        }
        return split;
    }

    /**
     * Four rows a quarter of the range apart in one loop: four memory streams at once (see {@link RowKernel#dotRows})
     * and each activation vector loaded once for the four rows.
     */
    @Override
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, float[] xk, int n, float[] tmp,
                 float[] out, int outOff) {
        if (xk == null) {
            for (int r = 0; r < rows; r++) out[outOff + r] = exactDot(w, off + r * rowBytes, x, 0, n);
            return;
        }
        int h = n / (2 * L) * L;
        int q = rows / 4;
        for (int i = 0; i < q; i++) {
            dot4(w, off + i * rowBytes, q * rowBytes, x, xk, h, n, out, outOff + i, q);
        }
        for (int r = 4 * q; r < rows; r++) out[outOff + r] = dot1(w, off + r * rowBytes, x, xk, h, n);
    }

    /** Rows at {@code off + k * stride} for k = 0..3 into {@code out[o + k * ostride]}. */
    private static void dot4(MemorySegment w, long off, long stride, float[] x, float[] xk, int h, int n, float[] out,
                             int o, int ostride) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int i = 0; i < h; i += L) {
            long o0 = off + 4L * i, o1 = o0 + stride, o2 = o1 + stride, o3 = o2 + stride;
            FloatVector even = FloatVector.fromArray(F, xk, i), odd = FloatVector.fromArray(F, xk, h + i);
            IntVector v0 = IntVector.fromMemorySegment(IL, w, o0, LE);
            IntVector v1 = IntVector.fromMemorySegment(IL, w, o1, LE);
            IntVector v2 = IntVector.fromMemorySegment(IL, w, o2, LE);
            IntVector v3 = IntVector.fromMemorySegment(IL, w, o3, LE);
            a0 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().mul(REBIAS).fma(even, a0);
            b0 = v0.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS).fma(odd, b0);
            a1 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().mul(REBIAS).fma(even, a1);
            b1 = v1.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS).fma(odd, b1);
            a2 = v2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().mul(REBIAS).fma(even, a2);
            b2 = v2.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS).fma(odd, b2);
            a3 = v3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().mul(REBIAS).fma(even, a3);
            b3 = v3.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS).fma(odd, b3);
        }
        float s0 = a0.add(b0).reduceLanes(VectorOperators.ADD), s1 = a1.add(b1).reduceLanes(VectorOperators.ADD);
        float s2 = a2.add(b2).reduceLanes(VectorOperators.ADD), s3 = a3.add(b3).reduceLanes(VectorOperators.ADD);
        for (int c = 2 * h; c < n; c++) {
            s0 += half(w, off + 2L * c) * x[c];
            s1 += half(w, off + stride + 2L * c) * x[c];
            s2 += half(w, off + 2 * stride + 2L * c) * x[c];
            s3 += half(w, off + 3 * stride + 2L * c) * x[c];
        }
        out[o] = s0;
        out[o + ostride] = s1;
        out[o + 2 * ostride] = s2;
        out[o + 3 * ostride] = s3;
    }

    /** One row, the same way as {@link #dot4}. */
    private static float dot1(MemorySegment w, long off, float[] x, float[] xk, int h, int n) {
        FloatVector a = FloatVector.zero(F), b = a;
        for (int i = 0; i < h; i += L) {
            IntVector v = IntVector.fromMemorySegment(IL, w, off + 4L * i, LE);
            a = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().mul(REBIAS).fma(FloatVector.fromArray(F, xk, i), a);
            b = v.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE).reinterpretAsFloats().mul(REBIAS)
                    .fma(FloatVector.fromArray(F, xk, h + i), b);
        }
        float s = a.add(b).reduceLanes(VectorOperators.ADD);
        for (int c = 2 * h; c < n; c++) s += half(w, off + 2L * c) * x[c];
        return s;
    }

    /** The plain loop (what {@link #dotRows} uses for a matrix holding an infinity or NaN). */
    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        return exactDot(w, off, x, xOff, n);
    }

    private static float exactDot(MemorySegment w, long off, float[] x, int xOff, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += half(w, off + 2L * i) * x[xOff + i];
        return s;
    }

    /**
     * Whether no half of {@code w} has an all-ones exponent. Scanned on the first call for each matrix (one pass over
     * its bytes at memory speed, about 0.05 s per GB here), remembered after.
     */
    static boolean allFinite(Tensor w) {
        Boolean known = FINITE.get(w);
        if (known != null) return known;
        MemorySegment data = w.data();
        long size = w.rowBytes() * w.rows();
        boolean finite = true;
        long i = 0;
        // Four halves per long: an exponent is all ones iff adding 0x0400 to it carries into the bit above.
        for (; i + 8 <= size && finite; i += 8) {
            long v = data.get(Dequant.LE_LONG, i) & 0x7C007C007C007C00L;
            finite = ((v + 0x0400040004000400L) & 0x8000800080008000L) == 0;
        }
        for (; i < size && finite; i += 2) finite = (data.get(Dequant.LE_SHORT, i) & EXPONENT) != EXPONENT;
        FINITE.put(w, finite);
        return finite;
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
