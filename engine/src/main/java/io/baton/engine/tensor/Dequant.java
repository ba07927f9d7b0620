package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reference dequantization: plain scalar code that turns GGML blocks into floats exactly as GGML defines them. The
 * fast kernels ({@link MatMul}) are tested against this.
 *
 * <p>Block layouts are those of {@code ggml/src/ggml-common.h} (cited at each type); the formulas are those of
 * {@code ggml/src/ggml-quants.c}, {@code dequantize_row_*}, with GGML's order of float operations kept so that every
 * value is bit-identical to GGML's: e.g. q4_K computes {@code d1 = d * sc; m1 = dmin * m; y = d1 * q - m1} (two
 * roundings, no fused multiply-add). All multi-byte fields are little-endian, as GGUF files are.
 */
public final class Dequant {
    private Dequant() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Elements in a K-quant super-block ({@code QK_K} in ggml-common.h). */
    static final int QK_K = 256;

    /** IEEE half at {@code off} as a float ({@code GGML_FP16_TO_FP32}; exact, subnormals, infinities and NaN included). */
    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(LE_SHORT, off));
    }

    /** bfloat16 at {@code off}: the upper 16 bits of a float32 ({@code GGML_BF16_TO_FP32}). */
    static float bf16(MemorySegment s, long off) {
        return Float.intBitsToFloat((s.get(LE_SHORT, off) & 0xffff) << 16);
    }

    /** Unsigned byte at {@code off}. */
    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    /**
     * Dequantizes {@code n} elements (a whole number of blocks) starting at byte {@code off} of {@code data} into
     * {@code out[outOff ..]}.
     *
     * @throws IllegalArgumentException when {@code n} is not a multiple of the type's block size
     * @throws UnsupportedOperationException for types Baton does not compute with ({@link GgmlType#supported})
     */
    public static void row(GgmlType type, MemorySegment data, long off, float[] out, int outOff, int n) {
        if (n % type.blockSize != 0) {
            throw new IllegalArgumentException(n + " elements is not a multiple of " + type + "'s block size " + type.blockSize);
        }
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) out[outOff + i] = data.get(LE_FLOAT, off + 4L * i); }
            case F16 -> { for (int i = 0; i < n; i++) out[outOff + i] = f16(data, off + 2L * i); }
            case BF16 -> { for (int i = 0; i < n; i++) out[outOff + i] = bf16(data, off + 2L * i); }
            case Q8_0 -> q8_0(data, off, out, outOff, n);
            case Q4_0 -> q4_0(data, off, out, outOff, n);
            case Q4_K -> q4_K(data, off, out, outOff, n);
            case Q5_K -> q5_K(data, off, out, outOff, n);
            case Q6_K -> q6_K(data, off, out, outOff, n);
            default -> throw new UnsupportedOperationException("dequantization of " + type + " is not supported");
        }
    }

    /**
     * block_q8_0 (34 bytes): {@code ggml_half d; int8_t qs[32];}. As dequantize_row_q8_0: {@code y[j] = qs[j] * d}.
     */
    private static void q8_0(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long base = off + 34L * b;
            float d = f16(data, base);
            for (int j = 0; j < 32; j++) out[outOff + 32 * b + j] = data.get(ValueLayout.JAVA_BYTE, base + 2 + j) * d;
        }
    }

    /**
     * block_q4_0 (18 bytes): {@code ggml_half d; uint8_t qs[16];}. As dequantize_row_q4_0: the low nibble of
     * {@code qs[j]} is element {@code j}, the high nibble element {@code j + 16}; {@code y = (nibble - 8) * d}.
     */
    private static void q4_0(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long base = off + 18L * b;
            float d = f16(data, base);
            int o = outOff + 32 * b;
            for (int j = 0; j < 16; j++) {
                int q = u8(data, base + 2 + j);
                out[o + j] = ((q & 0x0F) - 8) * d;
                out[o + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    /**
     * The 6-bit scale and min of sub-block {@code j} (0..7) of a q4_K/q5_K super-block, packed in 12 bytes at
     * {@code sc}: GGML's {@code get_scale_min_k4}. Sub-blocks 0..3 use the low 6 bits of bytes j (scale) and j+4 (min);
     * sub-blocks 4..7 take their low 4 bits from byte j+4 (scale: low nibble, min: high nibble) and their high 2 bits
     * from the top bits of bytes j-4 (scale) and j (min). Returns {@code scale | min << 8}.
     */
    static int scaleMinK4(MemorySegment data, long sc, int j) {
        int scale, min;
        if (j < 4) {
            scale = u8(data, sc + j) & 63;
            min = u8(data, sc + j + 4) & 63;
        } else {
            scale = (u8(data, sc + j + 4) & 0xF) | ((u8(data, sc + j - 4) >>> 6) << 4);
            min = (u8(data, sc + j + 4) >>> 4) | ((u8(data, sc + j) >>> 6) << 4);
        }
        return scale | min << 8;
    }

    /**
     * {@link #scaleMinK4(MemorySegment, long, int)} from the 12 scale bytes held in registers: {@code lo} = bytes 0-7
     * (little-endian long), {@code hi} = bytes 8-11. The kernels use this to read the scales with two loads per
     * super-block instead of up to 32 byte loads.
     */
    static int scaleMinK4(long lo, int hi, int j) {
        if (j < 4) return (int) (lo >>> (8 * j)) & 63 | ((int) (lo >>> (8 * j + 32)) & 63) << 8;
        int k = j - 4;
        int scale = (hi >>> (8 * k)) & 0xF | ((int) (lo >>> (8 * k + 6)) & 3) << 4;
        int min = (hi >>> (8 * k + 4)) & 0xF | ((int) (lo >>> (8 * j + 6)) & 3) << 4;
        return scale | min << 8;
    }

    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * block_q4_K (144 bytes): {@code ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128];}. As
     * dequantize_row_q4_K: 4 chunks of 64 elements; chunk {@code c} reads {@code qs[32c .. 32c+32)}, whose low nibbles
     * are sub-block {@code 2c} and high nibbles sub-block {@code 2c+1}; {@code y = (d * sc) * q - (dmin * m)}.
     */
    private static void q4_K(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = off + 144L * b;
            float d = f16(data, base), dmin = f16(data, base + 2);
            long scales = base + 4, qs = base + 16;
            int o = outOff + QK_K * b;
            for (int c = 0; c < 4; c++) {
                int sm1 = scaleMinK4(data, scales, 2 * c), sm2 = scaleMinK4(data, scales, 2 * c + 1);
                float d1 = d * (sm1 & 0xff), m1 = dmin * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xff), m2 = dmin * (sm2 >>> 8);
                for (int l = 0; l < 32; l++) {
                    int q = u8(data, qs + 32 * c + l);
                    out[o + 64 * c + l] = d1 * (q & 0xF) - m1;
                    out[o + 64 * c + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }

    /**
     * block_q5_K (176 bytes): {@code ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128];}.
     * As dequantize_row_q5_K: like q4_K, plus a fifth bit: in chunk {@code c}, element {@code l} of the low half gets
     * +16 when bit {@code 2c} of {@code qh[l]} is set, of the high half when bit {@code 2c+1} is set.
     */
    private static void q5_K(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = off + 176L * b;
            float d = f16(data, base), dmin = f16(data, base + 2);
            long scales = base + 4, qh = base + 16, qs = base + 48;
            int o = outOff + QK_K * b;
            for (int c = 0; c < 4; c++) {
                int sm1 = scaleMinK4(data, scales, 2 * c), sm2 = scaleMinK4(data, scales, 2 * c + 1);
                float d1 = d * (sm1 & 0xff), m1 = dmin * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xff), m2 = dmin * (sm2 >>> 8);
                int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
                for (int l = 0; l < 32; l++) {
                    int q = u8(data, qs + 32 * c + l), h = u8(data, qh + l);
                    out[o + 64 * c + l] = d1 * ((q & 0xF) + ((h & u1) != 0 ? 16 : 0)) - m1;
                    out[o + 64 * c + 32 + l] = d2 * ((q >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
                }
            }
        }
    }

    /**
     * block_q6_K (210 bytes): {@code uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d;}. As
     * dequantize_row_q6_K: two halves of 128 elements, each reading 64 bytes of {@code ql}, 32 of {@code qh} and 8
     * scales; for {@code l < 32}, elements {@code l, l+32, l+64, l+96} take the low nibble of {@code ql[l]}, the low
     * nibble of {@code ql[l+32]}, the high nibble of {@code ql[l]}, the high nibble of {@code ql[l+32]}, each with two
     * more bits from {@code qh[l]} (bits 0-1, 2-3, 4-5, 6-7), minus 32; scale index {@code l/16 + 0, 2, 4, 6};
     * {@code y = d * sc * q}, evaluated left to right.
     */
    private static void q6_K(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / QK_K; b++) {
            long base = off + 210L * b;
            float d = f16(data, base + 208);
            int o = outOff + QK_K * b;
            for (int half = 0; half < 2; half++) {
                long ql = base + 64 * half, qh = base + 128 + 32 * half, sc = base + 192 + 8 * half;
                int y = o + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo = u8(data, ql + l), lo32 = u8(data, ql + l + 32), h = u8(data, qh + l);
                    int q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((lo32 & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((lo32 >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    out[y + l] = d * data.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                    out[y + l + 32] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                    out[y + l + 64] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                    out[y + l + 96] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
                }
            }
        }
    }
}
