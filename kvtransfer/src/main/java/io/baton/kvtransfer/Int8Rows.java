package io.baton.kvtransfer;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The INT8 wire type: rows of {@code heads × dim} floats with one scale per (token, head). A row is {@code heads}
 * float32 scales followed by {@code heads × dim} signed bytes. Per head, as GGML's {@code quantize_row_q8_0} does per
 * block of 32: scale = amax / 127, q = round(x / scale) (here: to nearest, ties to even, through the reciprocal as
 * GGML does), and x' = q × scale. A head of zeros gets scale 0 and zeros.
 *
 * <p>{@link #quantize} uses the Vector API; {@link #quantizeScalar} is the plain reference it must match byte for byte.
 */
public final class Int8Rows {
    private Int8Rows() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Bytes of one row. */
    public static long rowBytes(int heads, int dim) {
        return (long) heads * Float.BYTES + (long) heads * dim;
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int L = FS.length();
    /** A quarter of the float vector's width: one byte per float lane (none below 256-bit vectors: then scalar only). */
    private static final VectorSpecies<Byte> BS = FS.vectorBitSize() >= 256
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(FS.vectorBitSize() / 4)) : null;
    /** 1.5 × 2^23: adding then subtracting it rounds a float below 2^22 in magnitude to an integer, ties to even. */
    private static final float ROUND = 12582912f;

    /** Quantizes {@code rows} rows from {@code src[srcOff..]} into {@code dst} at {@code dstOff}; equal to {@link #quantizeScalar}. */
    public static void quantize(float[] src, int srcOff, int rows, int heads, int dim, MemorySegment dst, long dstOff) {
        if (BS == null) {
            quantizeScalar(src, srcOff, rows, heads, dim, dst, dstOff);
            return;
        }
        long rb = rowBytes(heads, dim);
        int bound = dim - dim % L;
        for (int r = 0; r < rows; r++) {
            long row = dstOff + r * rb, values = row + (long) heads * Float.BYTES;
            for (int h = 0; h < heads; h++) {
                int o = srcOff + (r * heads + h) * dim;
                FloatVector m = FloatVector.zero(FS);
                int i = 0;
                for (; i < bound; i += L) m = m.max(FloatVector.fromArray(FS, src, o + i).abs());
                float amax = m.reduceLanes(VectorOperators.MAX); // max is exact in any order
                for (; i < dim; i++) amax = Math.max(amax, Math.abs(src[o + i]));
                float scale = amax / 127f;
                float inv = scale == 0 ? 0 : 1f / scale;
                dst.set(F32, row + (long) h * Float.BYTES, scale);
                long qo = values + (long) h * dim;
                i = 0;
                for (; i < bound; i += L) {
                    FloatVector v = FloatVector.fromArray(FS, src, o + i).mul(inv).add(ROUND).sub(ROUND);
                    IntVector q = ((IntVector) v.convert(VectorOperators.F2I, 0)).max(-127).min(127);
                    ((ByteVector) q.convertShape(VectorOperators.I2B, BS, 0)).intoMemorySegment(dst, qo + i, ByteOrder.LITTLE_ENDIAN);
                }
                for (; i < dim; i++) {
                    float q = (float) Math.rint(src[o + i] * inv);
                    dst.set(ValueLayout.JAVA_BYTE, qo + i, (byte) Math.max(-127, Math.min(127, q)));
                }
            }
        }
    }

    /** The reference: quantizes {@code rows} rows from {@code src[srcOff..]} into {@code dst} at {@code dstOff}. */
    public static void quantizeScalar(float[] src, int srcOff, int rows, int heads, int dim, MemorySegment dst, long dstOff) {
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
