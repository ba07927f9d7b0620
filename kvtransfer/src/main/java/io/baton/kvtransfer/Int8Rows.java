package io.baton.kvtransfer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The INT8 wire type: rows of {@code heads × dim} floats with one scale per (token, head). A row is {@code heads}
 * float32 scales followed by {@code heads × dim} signed bytes. Per head, as GGML's {@code quantize_row_q8_0} does per
 * block of 32: scale = amax / 127, q = round(x / scale) (here: to nearest, ties to even, through the reciprocal as
 * GGML does), and x' = q × scale. A head of zeros gets scale 0 and zeros.
 */
public final class Int8Rows {
    private Int8Rows() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Bytes of one row. */
    public static long rowBytes(int heads, int dim) {
        return (long) heads * Float.BYTES + (long) heads * dim;
    }

    /** Quantizes {@code rows} rows from {@code src[srcOff..]} into {@code dst} at {@code dstOff}. */
    public static void quantize(float[] src, int srcOff, int rows, int heads, int dim, MemorySegment dst, long dstOff) {
        long rb = rowBytes(heads, dim);
        for (int r = 0; r < rows; r++) {
            long row = dstOff + r * rb, values = row + (long) heads * Float.BYTES;
            for (int h = 0; h < heads; h++) {
                int o = srcOff + (r * heads + h) * dim;
                float amax = 0;
                for (int i = 0; i < dim; i++) amax = Math.max(amax, Math.abs(src[o + i]));
                float scale = amax / 127f;
                float inv = scale == 0 ? 0 : 1f / scale;
                dst.set(F32, row + (long) h * Float.BYTES, scale);
                long qo = values + (long) h * dim;
                for (int i = 0; i < dim; i++) {
                    float q = (float) Math.rint(src[o + i] * inv);
                    dst.set(ValueLayout.JAVA_BYTE, qo + i, (byte) Math.max(-127, Math.min(127, q)));
                }
            }
        }
    }

    /** Turns {@code rows} rows at {@code src[srcOff..]} back into floats at {@code dst[dstOff..]}. */
    public static void dequantize(MemorySegment src, long srcOff, int rows, int heads, int dim, float[] dst, int dstOff) {
        long rb = rowBytes(heads, dim);
        for (int r = 0; r < rows; r++) {
            long row = srcOff + r * rb, values = row + (long) heads * Float.BYTES;
            for (int h = 0; h < heads; h++) {
                float scale = src.get(F32, row + (long) h * Float.BYTES);
                int o = dstOff + (r * heads + h) * dim;
                long qo = values + (long) h * dim;
                for (int i = 0; i < dim; i++) dst[o + i] = src.get(ValueLayout.JAVA_BYTE, qo + i) * scale;
            }
        }
    }
}
