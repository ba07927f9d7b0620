package io.baton.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.SplittableRandom;

/** Test helpers: byte buffers as segments, and random weight tensors of every type. */
final class Blocks {
    private Blocks() {}

    static MemorySegment segment(byte[] bytes) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, bytes.length), 64);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return s.asSlice(0, bytes.length);
    }

    static void putShort(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    static void putFloat(byte[] b, int off, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (bits >>> (8 * i));
    }

    /** A random finite half in about [-limit, limit] (never infinity or NaN). */
    static short randomHalf(SplittableRandom r, double limit) {
        return Float.floatToFloat16((float) ((r.nextDouble() * 2 - 1) * limit));
    }

    /**
     * A random {@code rows × cols} tensor of {@code type}: random quants (every bit pattern), random finite f16 scales
     * of a size that keeps weights near unit scale, random int8 Q6_K scales.
     */
    static Tensor randomTensor(GgmlType type, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int rowBytes = (int) type.bytesFor(cols);
        byte[] b = new byte[rowBytes * rows];
        switch (type) {
            case F32 -> { for (int i = 0; i < b.length; i += 4) putFloat(b, i, (float) (r.nextDouble() * 2 - 1)); }
            case F16 -> { for (int i = 0; i < b.length; i += 2) putShort(b, i, randomHalf(r, 1.0)); }
            case BF16 -> {
                for (int i = 0; i < b.length; i += 2) putShort(b, i, Float.floatToRawIntBits((float) (r.nextDouble() * 2 - 1)) >>> 16);
            }
            default -> {
                r.nextBytes(b);
                int blocks = b.length / type.blockBytes;
                for (int k = 0; k < blocks; k++) {
                    int o = k * type.blockBytes;
                    switch (type) {
                        case Q8_0 -> putShort(b, o, randomHalf(r, 1.0 / 64));
                        case Q4_0 -> putShort(b, o, randomHalf(r, 1.0 / 4));
                        case Q4_K, Q5_K -> { putShort(b, o, randomHalf(r, 1.0 / 256)); putShort(b, o + 2, randomHalf(r, 1.0 / 64)); }
                        case Q6_K -> putShort(b, o + 208, randomHalf(r, 1.0 / 1024));
                        default -> throw new IllegalArgumentException(type.toString());
                    }
                }
            }
        }
        return new Tensor("random." + type, type, new long[] {cols, rows}, segment(b));
    }

    static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static short half(float f) {
        return Float.floatToFloat16(f);
    }

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
}
