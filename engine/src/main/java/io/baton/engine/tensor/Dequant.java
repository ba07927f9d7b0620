package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reference dequantization: plain scalar code that turns GGML blocks into floats exactly as GGML defines them
 * (ggml/src/ggml-quants.c, {@code dequantize_row_*}). The fast kernels are tested against this.
 */
public final class Dequant {
    private Dequant() {}

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** IEEE half at {@code off} as a float. */
    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(LE_SHORT, off));
    }

    /** bfloat16 at {@code off}: the upper 16 bits of a float32. */
    static float bf16(MemorySegment s, long off) {
        return Float.intBitsToFloat((s.get(LE_SHORT, off) & 0xffff) << 16);
    }

    /**
     * Dequantizes {@code n} elements (a whole number of blocks) starting at byte {@code off} of {@code data} into
     * {@code out[outOff ..]}.
     */
    public static void row(GgmlType type, MemorySegment data, long off, float[] out, int outOff, int n) {
        if (n % type.blockSize != 0) throw new IllegalArgumentException(n + " is not a multiple of " + type + "'s block size");
        switch (type) {
            case F32 -> { for (int i = 0; i < n; i++) out[outOff + i] = data.get(LE_FLOAT, off + 4L * i); }
            case F16 -> { for (int i = 0; i < n; i++) out[outOff + i] = f16(data, off + 2L * i); }
            case BF16 -> { for (int i = 0; i < n; i++) out[outOff + i] = bf16(data, off + 2L * i); }
            case Q8_0 -> q8_0(data, off, out, outOff, n);
            default -> throw new UnsupportedOperationException("dequantization of " + type + " is not supported");
        }
    }

    /** block_q8_0: f16 scale d, then 32 int8 quants; x = d * q. */
    private static void q8_0(MemorySegment data, long off, float[] out, int outOff, int n) {
        for (int b = 0; b < n / 32; b++) {
            long base = off + 34L * b;
            float d = f16(data, base);
            for (int j = 0; j < 32; j++) out[outOff + 32 * b + j] = d * data.get(ValueLayout.JAVA_BYTE, base + 2 + j);
        }
    }
}
