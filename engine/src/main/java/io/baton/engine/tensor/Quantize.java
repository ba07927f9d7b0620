package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reference quantization: float32 rows into GGML blocks, bit for bit as GGML's reference quantizers do it, so that a
 * file written here is the file {@code llama-quantize} would write from the same floats (without an importance matrix).
 * Sources, all in ggml/src/ggml-quants.c unless noted: {@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref},
 * {@code quantize_row_q4_K_ref} (with {@code make_qkx2_quants}), {@code quantize_row_q6_K_ref} (with
 * {@code make_qx_quants}); F16 as {@code GGML_FP32_TO_FP16} (IEEE round to nearest even, what F16C's
 * {@code vcvtps2ph} does); BF16 as {@code ggml_compute_fp32_to_bf16} in ggml-impl.h.
 *
 * <p>All arithmetic is float32 in the order the C code does it (Java float arithmetic is IEEE, as C's is without
 * fused multiply-adds), which is what makes the bytes match. Checked outside the build against those C functions
 * compiled with gcc -O2: identical bytes on every block of a million random floats, for Q4_K and Q6_K too. (Compiled with
 * -march=native, gcc fuses a·b + c into FMAs and about 5% of Q4_K and 2% of Q6_K blocks then differ in their last bits.)
 * Re-quantizing llama.cpp's Q8_0 and Q4_0 files reproduces them exactly (QuantizeTest).
 */
public final class Quantize {
    private Quantize() {}

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** QK_K: elements per super-block of the K-quants. */
    private static final int QK_K = 256;
    /** GROUP_MAX_EPS in ggml-quants.c: a group whose largest magnitude is below this is all zero. */
    static final float GROUP_MAX_EPS = 1e-15f;

    /** Whether {@link #row} can produce this type. */
    public static boolean supports(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * Quantizes {@code n} floats {@code src[srcOff ..]} (a whole number of blocks) into {@code type.bytesFor(n)}
     * bytes of {@code dst} from byte {@code dstOff}.
     */
    public static void row(GgmlType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOff) {
        if (n % type.blockSize != 0) throw new IllegalArgumentException(n + " is not a multiple of " + type + "'s block size " + type.blockSize);
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) dst.set(LE_FLOAT, dstOff + 4L * i, src[srcOff + i]); }
            case F16 -> { for (int i = 0; i < n; i++) dst.set(LE_SHORT, dstOff + 2L * i, fp16(src[srcOff + i])); }
            case BF16 -> { for (int i = 0; i < n; i++) dst.set(LE_SHORT, dstOff + 2L * i, bf16(src[srcOff + i])); }
            case Q8_0 -> { for (int b = 0; b < n / 32; b++) q8_0(src, srcOff + 32 * b, dst, dstOff + 34L * b); }
            case Q4_0 -> { for (int b = 0; b < n / 32; b++) q4_0(src, srcOff + 32 * b, dst, dstOff + 18L * b); }
            case Q4_K -> {
                KScratch s = new KScratch();
                for (int b = 0; b < n / QK_K; b++) q4_K(src, srcOff + QK_K * b, dst, dstOff + 144L * b, s);
            }
            case Q6_K -> {
                KScratch s = new KScratch();
                for (int b = 0; b < n / QK_K; b++) q6_K(src, srcOff + QK_K * b, dst, dstOff + 210L * b, s);
            }
            default -> throw new UnsupportedOperationException("quantization to " + type + " is not supported");
        }
    }

    /** IEEE half, round to nearest even (GGML_FP32_TO_FP16). */
    public static short fp16(float f) {
        return Float.floatToFloat16(f);
    }

    /**
     * bfloat16, round to nearest even; NaN stays a quiet NaN (ggml_compute_fp32_to_bf16). Subnormals are rounded like
     * any other value, as current GGML does (older versions flushed them to zero).
     */
    public static short bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** C's roundf: halves away from zero (Java's Math.round rounds them up). Exact for any float in double. */
    static int roundAway(float x) {
        double a = Math.floor(Math.abs((double) x) + 0.5);
        return (int) (x < 0 ? -a : a);
    }

    /** nearest_int in ggml-quants.c: round to nearest, ties to even, for |x| below 2^22. */
    static int nearestInt(float x) {
        return (int) Math.rint(x);
    }

    // ---- Q8_0 and Q4_0: one f16 scale per 32 ---------------------------------------------------------------

    /** block_q8_0 {f16 d; int8 qs[32]}: d = amax/127, q = roundf(x/d). */
    private static void q8_0(float[] x, int xo, MemorySegment y, long yo) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        y.set(LE_SHORT, yo, fp16(d));
        for (int j = 0; j < 32; j++) y.set(ValueLayout.JAVA_BYTE, yo + 2 + j, (byte) roundAway(x[xo + j] * id));
    }

    /**
     * block_q4_0 {f16 d; u8 qs[16]}: d = max/-8 where max is the value of largest magnitude, q = min(15, (int)(x/d + 8.5));
     * byte j holds element j in its low nibble and element j+16 in its high nibble.
     */
    private static void q4_0(float[] x, int xo, MemorySegment y, long yo) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[xo + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        y.set(LE_SHORT, yo, fp16(d));
        for (int j = 0; j < 16; j++) {
            float x0 = x[xo + j] * id;
            float x1 = x[xo + 16 + j] * id;
            // (int8_t)(x + 8.5f) truncates toward zero; x/d lies in [-8, 8] so the sum is positive.
            int q0 = Math.min(15, (int) (x0 + 8.5f));
            int q1 = Math.min(15, (int) (x1 + 8.5f));
            y.set(ValueLayout.JAVA_BYTE, yo + 2 + j, (byte) (q0 | (q1 << 4)));
        }
    }

    // ---- K-quants --------------------------------------------------------------------------------------------

    /** Per-row scratch arrays of the K-quantizers (one super-block at a time). */
    private static final class KScratch {
        final int[] l = new int[QK_K];
        final float[] weights = new float[QK_K];
        final float[] scales = new float[QK_K / 16];
        final float[] mins = new float[QK_K / 32];
        final byte[] block = new byte[210];
        final KQuantSearch search = new KQuantSearch();
    }

    /**
     * block_q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}: 8 sub-blocks of 32, each x ≈ d·sc·q − dmin·m with 6-bit
     * sc and m (packed by {@code get_scale_min_k4}'s layout) and 4-bit q, as quantize_row_q4_K_ref.
     */
    private static void q4_K(float[] x, int xo, MemorySegment y, long yo, KScratch s) {
        int[] L = s.l;
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < QK_K / 32; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) s.weights[32 * j + l] = avX + Math.abs(x[xo + 32 * j + l]);
        }
        // make_qkx2_quants(32, 15, x + 32*j, weights, L + 32*j, &mins[j], Laux, -1.f, 0.1f, 20, false) for all j at once.
        s.search.qkx2(15, x, xo, s.weights, L, s.scales, s.mins, -1.f, 0.1f, 20);
        for (int j = 0; j < QK_K / 32; j++) {
            if (s.scales[j] > maxScale) maxScale = s.scales[j];
            if (s.mins[j] > maxMin) maxMin = s.mins[j];
        }
        byte[] b = s.block;
        java.util.Arrays.fill(b, 0, 144, (byte) 0);
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        for (int j = 0; j < QK_K / 32; j++) {
            // uint8_t ls = nearest_int(...): the value is in [0, 63] before MIN, so the uint8 cast changes nothing.
            int ls = Math.min(63, nearestInt(invScale * s.scales[j]) & 0xff);
            int lm = Math.min(63, nearestInt(invMin * s.mins[j]) & 0xff);
            if (j < 4) {
                b[4 + j] = (byte) ls;
                b[4 + j + 4] = (byte) lm;
            } else {
                b[4 + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                b[4 + j - 4] |= (byte) ((ls >> 4) << 6);
                b[4 + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        short dh = fp16(maxScale / 63.f), dminh = fp16(maxMin / 63.f);
        float d0 = Float.float16ToFloat(dh), dmin0 = Float.float16ToFloat(dminh);
        for (int j = 0; j < QK_K / 32; j++) {
            int sc = scaleK4(b, j, false), m = scaleK4(b, j, true);
            float d = d0 * sc;
            if (d == 0) continue;
            float dm = dmin0 * m;
            for (int ii = 0; ii < 32; ii++) {
                int l = nearestInt((x[xo + 32 * j + ii] + dm) / d);
                L[32 * j + ii] = Math.max(0, Math.min(15, l));
            }
        }
        b[0] = (byte) dh;
        b[1] = (byte) (dh >> 8);
        b[2] = (byte) dminh;
        b[3] = (byte) (dminh >> 8);
        for (int j = 0, q = 16; j < QK_K; j += 64, q += 32) {
            for (int l = 0; l < 32; l++) b[q + l] = (byte) (L[j + l] | (L[j + l + 32] << 4));
        }
        MemorySegment.copy(b, 0, y, ValueLayout.JAVA_BYTE, yo, 144);
    }

    /** get_scale_min_k4: the 6-bit scale ({@code min} false) or min of sub-block j from the 12 packed bytes at b[4..]. */
    static int scaleK4(byte[] b, int j, boolean min) {
        int q = 4;
        if (j < 4) return (b[q + j + (min ? 4 : 0)] & 63);
        return min ? ((b[q + j + 4] & 0xff) >> 4) | (((b[q + j] & 0xff) >> 6) << 4)
                : (b[q + j + 4] & 0xF) | (((b[q + j - 4] & 0xff) >> 6) << 4);
    }

    /**
     * make_qkx2_quants, one group at a time as the reference writes it (the quantizer runs {@link KQuantSearch}'s
     * lockstep version; tests check the two agree): fits x ≈ scale·L − min with L in [0, nmax] by weighted least squares over a sweep of candidate
     * inverse scales {@code (rmin + rdelta·is + nmax)/(max − min)}, is = 0..nstep, keeping the best weighted error
     * (absolute if {@code useMad}, else squared). Writes L to {@code L[lo ..]} and the min (as a positive number) to
     * {@code mins[mi]}; returns the scale.
     */
    static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] weights, int[] L, int lo, float[] mins, int mi,
                                int[] laux, float rmin, float rdelta, int nstep, boolean useMad) {
        float min = x[xo], max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            float xi = x[xo + i];
            if (xi < min) min = xi;
            if (xi > max) max = xi;
            float w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            mins[mi] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            L[lo + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * L[lo + i] + min - x[xo + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1) {
            mins[mi] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                laux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[xo + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError) {
                    System.arraycopy(laux, 0, L, lo, n);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[mi] = -min;
        return scale;
    }

    /**
     * block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 16 sub-blocks of 16, x ≈ d·sc·(q − 32) with 8-bit
     * signed sc and 6-bit q split into low nibbles (ql) and high 2-bit pairs (qh), as quantize_row_q6_K_ref.
     */
    private static void q6_K(float[] x, int xo, MemorySegment y, long yo, KScratch s) {
        int[] L = s.l;
        byte[] b = s.block;
        java.util.Arrays.fill(b, 0, 210, (byte) 0);
        float maxScale = 0, maxAbsScale = 0;
        // make_qx_quants(16, 32, x + 16*ib, L + 16*ib, 1, NULL) for all ib at once.
        s.search.qx(32, x, xo, L, 0, s.scales, 0);
        s.search.qx(32, x, xo + 128, L, 128, s.scales, 8);
        for (int ib = 0; ib < QK_K / 16; ib++) {
            float scale = s.scales[ib];
            float abs = Math.abs(scale);
            if (abs > maxAbsScale) {
                maxAbsScale = abs;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            // memset to zero and d = 0: the all-zero block.
            MemorySegment.copy(b, 0, y, ValueLayout.JAVA_BYTE, yo, 210);
            return;
        }
        float iscale = -128.f / maxScale;
        short dh = fp16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++) b[192 + ib] = (byte) Math.min(127, nearestInt(iscale * s.scales[ib]));
        float d0 = Float.float16ToFloat(dh);
        for (int j = 0; j < QK_K / 16; j++) {
            float d = d0 * b[192 + j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearestInt(x[xo + 16 * j + ii] / d);
                L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        for (int j = 0, ql = 0, qh = 128; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                b[ql + l] = (byte) (q1 | (q3 << 4));
                b[ql + l + 32] = (byte) (q2 | (q4 << 4));
                b[qh + l] = (byte) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
        b[208] = (byte) dh;
        b[209] = (byte) (dh >> 8);
        MemorySegment.copy(b, 0, y, ValueLayout.JAVA_BYTE, yo, 210);
    }

    /**
     * make_qx_quants, one group at a time (see {@link KQuantSearch} for the version the quantizer runs), with rmse_type 1 and no importance weights (the case quantize_row_q6_K_ref uses): symmetric
     * L in [0, 2·nmax) around nmax, weights x², trying inverse scales −(nmax + 0.1·is)/max for is = −9..9 and keeping
     * the best least-squares fit. Writes L to {@code L[lo ..]}; returns the (signed) scale.
     */
    static float makeQxQuants(int n, int nmax, float[] x, int xo, int[] L, int lo) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[xo + i];
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
            L[lo + i] = l + nmax;
            float w = xi * xi;
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[xo + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * xi)));
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x[xo + i])));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
