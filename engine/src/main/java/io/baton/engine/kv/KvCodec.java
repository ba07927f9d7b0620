package io.baton.engine.kv;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Conversions between float rows and the stored KV element types, plus the two reads attention needs (dot product with
 * a K head, scaled add of a V head), straight from off-heap memory. Storage is little-endian, the wire order of the KV
 * transfer.
 *
 * <p>Each operation has a plain scalar reference ({@code *Scalar}) and a fast version; the tests compare them on random
 * data. F32 and BF16 are vectorized with the Vector API; F16 runs plain loops over {@link Float#float16ToFloat} /
 * {@link Float#floatToFloat16}, which HotSpot compiles to F16C instructions (the Vector API of JDK 25 has no half-float
 * conversion).
 */
public final class KvCodec {
    private KvCodec() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    /** As many shorts as FS has floats, in half the bits: one load of bf16 widens to one float vector. */
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(FS.vectorBitSize() / 2));
    private static final int L = FS.length();

    // ---- single elements (the reference definitions) ----

    /**
     * float → bfloat16 bits, rounding to nearest even; NaN stays a quiet NaN. Same rule as GGML's
     * {@code ggml_compute_fp32_to_bf16} (ggml-impl.h): add 0x7FFF plus the lowest kept bit, keep the upper half.
     */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** bfloat16 bits → float: they are the upper half of the float's bits, exactly. */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** Reads element {@code i} of a row of type {@code t} starting at byte {@code off}. */
    public static float get(KvType t, MemorySegment s, long off, int i) {
        return switch (t) {
            case F32 -> s.get(F32, off + 4L * i);
            case F16 -> Float.float16ToFloat(s.get(I16, off + 2L * i));
            case BF16 -> bf16ToFloat(s.get(I16, off + 2L * i));
        };
    }

    /** Writes element {@code i}, converting (and rounding to nearest even) to type {@code t}. */
    public static void put(KvType t, MemorySegment s, long off, int i, float x) {
        switch (t) {
            case F32 -> s.set(F32, off + 4L * i, x);
            case F16 -> s.set(I16, off + 2L * i, Float.floatToFloat16(x));
            case BF16 -> s.set(I16, off + 2L * i, floatToBf16(x));
        }
    }

    // ---- scalar references ----

    public static void encodeScalar(KvType t, float[] src, int srcOff, MemorySegment dst, long dstOff, int n) {
        for (int i = 0; i < n; i++) put(t, dst, dstOff, i, src[srcOff + i]);
    }

    public static void decodeScalar(KvType t, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = get(t, src, srcOff, i);
    }

    public static float dotScalar(KvType t, MemorySegment s, long off, float[] q, int qOff, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += get(t, s, off, i) * q[qOff + i];
        return sum;
    }

    public static void addScaledScalar(KvType t, MemorySegment s, long off, float p, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) out[outOff + i] += p * get(t, s, off, i);
    }

    // ---- fast versions ----

    /** Writes {@code n} floats as type {@code t} at byte {@code dstOff}. */
    public static void encode(KvType t, float[] src, int srcOff, MemorySegment dst, long dstOff, int n) {
        switch (t) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, F32, dstOff, n);
            case F16 -> encodeF16(src, srcOff, dst, dstOff, n);
            case BF16 -> encodeBf16(src, srcOff, dst, dstOff, n);
        }
    }

    /** Reads {@code n} elements of type {@code t} from byte {@code srcOff} as floats. */
    public static void decode(KvType t, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        switch (t) {
            case F32 -> MemorySegment.copy(src, F32, srcOff, dst, dstOff, n);
            case F16 -> decodeF16(src, srcOff, dst, dstOff, n);
            case BF16 -> decodeBf16(src, srcOff, dst, dstOff, n);
        }
    }

    /** Σ stored[i] × q[qOff + i] over {@code n} elements (the summation order differs from the scalar reference). */
    public static float dot(KvType t, MemorySegment s, long off, float[] q, int qOff, int n) {
        return switch (t) {
            case F32 -> dotF32(s, off, q, qOff, n);
            case F16 -> dotF16(s, off, q, qOff, n);
            case BF16 -> dotBf16(s, off, q, qOff, n);
        };
    }

    /** out[outOff + i] += p × stored[i] over {@code n} elements. */
    public static void addScaled(KvType t, MemorySegment s, long off, float p, float[] out, int outOff, int n) {
        switch (t) {
            case F32 -> addScaledF32(s, off, p, out, outOff, n);
            case F16 -> addScaledF16(s, off, p, out, outOff, n);
            case BF16 -> addScaledBf16(s, off, p, out, outOff, n);
        }
    }

    /**
     * {@code out[outOff + i] += p[pOff + r] × stored_r[i]} for rows {@code r < rows} (row r at {@code off + r × stride}),
     * in that order: the same operations as {@link #addScaled} row by row, so the same result, but for F32 each output
     * vector is loaded and stored once per call instead of once per row (attention's weighted sum of a block of values).
     */
    public static void addScaledRows(KvType t, MemorySegment s, long off, long stride, int rows, float[] p, int pOff,
                                     float[] out, int outOff, int n) {
        if (t == KvType.F32) {
            addScaledRowsF32(s, off, stride, rows, p, pOff, out, outOff, n);
            return;
        }
        for (int r = 0; r < rows; r++) addScaled(t, s, off + r * stride, p[pOff + r], out, outOff, n);
    }

    private static void addScaledRowsF32(MemorySegment s, long off, long stride, int rows, float[] p, int pOff,
                                         float[] out, int outOff, int n) {
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector acc = FloatVector.fromArray(FS, out, outOff + i);
            for (int r = 0; r < rows; r++) {
                acc = FloatVector.fromMemorySegment(FS, s, off + r * stride + 4L * i, LE).fma(FloatVector.broadcast(FS, p[pOff + r]), acc);
            }
            acc.intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            float a = out[outOff + i];
            for (int r = 0; r < rows; r++) a += p[pOff + r] * s.get(F32, off + r * stride + 4L * i);
            out[outOff + i] = a;
        }
    }

    // One small method per type and operation: the Vector API is only fast when C2 inlines the whole loop body, and a
    // method mixing types grows past its inlining limits (measured: BF16 decode 10x slower inside a shared switch).

    // F16: plain loops over Float.float16ToFloat / floatToFloat16, which C2 turns into F16C instructions and
    // vectorizes itself (the Vector API of JDK 25 has no half-float lanes).

    private static void encodeF16(float[] src, int srcOff, MemorySegment dst, long dstOff, int n) {
        for (int i = 0; i < n; i++) dst.set(I16, dstOff + 2L * i, Float.floatToFloat16(src[srcOff + i]));
    }

    private static void decodeF16(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(I16, srcOff + 2L * i));
    }

    private static float dotF16(MemorySegment s, long off, float[] q, int qOff, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += Float.float16ToFloat(s.get(I16, off + 2L * i)) * q[qOff + i];
        return sum;
    }

    private static void addScaledF16(MemorySegment s, long off, float p, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) out[outOff + i] += p * Float.float16ToFloat(s.get(I16, off + 2L * i));
    }

    private static void encodeBf16(float[] src, int srcOff, MemorySegment dst, long dstOff, int n) {
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            bf16Bits(FloatVector.fromArray(FS, src, srcOff + i)).intoMemorySegment(dst, dstOff + 2L * i, LE);
        }
        for (; i < n; i++) dst.set(I16, dstOff + 2L * i, floatToBf16(src[srcOff + i]));
    }

    private static void decodeBf16(MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) loadBf16(src, srcOff + 2L * i).intoArray(dst, dstOff + i);
        for (; i < n; i++) dst[dstOff + i] = bf16ToFloat(src.get(I16, srcOff + 2L * i));
    }

    private static float dotF32(MemorySegment s, long off, float[] q, int qOff, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            acc = FloatVector.fromMemorySegment(FS, s, off + 4L * i, LE).fma(FloatVector.fromArray(FS, q, qOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += s.get(F32, off + 4L * i) * q[qOff + i];
        return sum;
    }

    private static float dotBf16(MemorySegment s, long off, float[] q, int qOff, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            acc = loadBf16(s, off + 2L * i).fma(FloatVector.fromArray(FS, q, qOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += bf16ToFloat(s.get(I16, off + 2L * i)) * q[qOff + i];
        return sum;
    }

    private static void addScaledF32(MemorySegment s, long off, float p, float[] out, int outOff, int n) {
        FloatVector pv = FloatVector.broadcast(FS, p);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector o = FloatVector.fromArray(FS, out, outOff + i);
            FloatVector.fromMemorySegment(FS, s, off + 4L * i, LE).fma(pv, o).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] += p * s.get(F32, off + 4L * i);
    }

    private static void addScaledBf16(MemorySegment s, long off, float p, float[] out, int outOff, int n) {
        FloatVector pv = FloatVector.broadcast(FS, p);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            loadBf16(s, off + 2L * i).fma(pv, FloatVector.fromArray(FS, out, outOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] += p * bf16ToFloat(s.get(I16, off + 2L * i));
    }

    /**
     * L bf16 values widened to floats: widen each 16-bit pattern to an int and shift it into the upper half (the sign
     * extension S2I adds is shifted out; S2I measured faster than ZERO_EXTEND_S2I here).
     */
    private static FloatVector loadBf16(MemorySegment s, long off) {
        ShortVector h = ShortVector.fromMemorySegment(SS, s, off, LE);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, IS, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** {@link #floatToBf16} on L lanes: round to nearest even, NaN kept quiet, then narrowed to shorts. */
    private static ShortVector bf16Bits(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        IntVector lsb = bits.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.AND, 1);
        IntVector rounded = bits.add(0x7FFF).add(lsb).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = x.test(VectorOperators.IS_NAN).cast(IS);
        IntVector quietNan = bits.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.OR, 0x40);
        IntVector result = rounded.blend(quietNan, nan);
        return (ShortVector) result.convertShape(VectorOperators.I2S, SS, 0);
    }
}
