package io.baton.engine.kv;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Differential tests: each fast conversion against its scalar reference, on random data of odd sizes and offsets. */
class KvCodecTest {
    private static final int[] SIZES = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 129, 255};

    /** Random floats with the awkward values mixed in: specials, subnormals, huge, and halfway cases for both types. */
    private static float[] awkward(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(12)) {
                case 0 -> Float.NaN;
                case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 2 -> Float.intBitsToFloat(r.nextInt(0x800000)); // subnormal
                case 3 -> (r.nextBoolean() ? 1 : -1) * Float.MAX_VALUE * r.nextFloat();
                case 4 -> Float.intBitsToFloat((r.nextInt() & 0xFFFF0000) | 0x8000); // exact bf16 tie
                case 5 -> Float.intBitsToFloat((r.nextInt() & 0xFFFFE000) | 0x1000); // exact f16 tie (in range or not)
                case 6 -> -0.0f;
                case 7 -> Float.intBitsToFloat(r.nextInt()); // any bit pattern, NaN payloads included
                default -> (float) r.nextGaussian() * 3;
            };
        }
        return x;
    }

    @Test
    void encodeMatchesScalarBitForBit() {
        Random r = new Random(1);
        try (Arena a = Arena.ofConfined()) {
            for (KvType t : KvType.values()) {
                for (int n : SIZES) {
                    for (int srcOff : new int[] {0, 3}) {
                        long dstOff = 2L * r.nextInt(5); // unaligned too
                        float[] src = awkward(r, n + srcOff);
                        MemorySegment fast = a.allocate(dstOff + 4L * n + 8);
                        MemorySegment slow = a.allocate(dstOff + 4L * n + 8);
                        KvCodec.encode(t, src, srcOff, fast, dstOff, n);
                        KvCodec.encodeScalar(t, src, srcOff, slow, dstOff, n);
                        assertThat(fast.mismatch(slow)).as("%s n=%d", t, n).isEqualTo(-1L);
                    }
                }
            }
        }
    }

    @Test
    void decodeMatchesScalarBitForBit() {
        Random r = new Random(2);
        try (Arena a = Arena.ofConfined()) {
            for (KvType t : KvType.values()) {
                for (int n : SIZES) {
                    long off = 2L * r.nextInt(5);
                    MemorySegment s = a.allocate(off + 4L * n + 8);
                    for (long i = 0; i < s.byteSize(); i++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
                    float[] fast = new float[n + 2];
                    float[] slow = new float[n + 2];
                    KvCodec.decode(t, s, off, fast, 1, n);
                    KvCodec.decodeScalar(t, s, off, slow, 1, n);
                    for (int i = 0; i < n + 2; i++) {
                        assertThat(Float.floatToRawIntBits(fast[i])).as("%s n=%d i=%d", t, n, i).isEqualTo(Float.floatToRawIntBits(slow[i]));
                    }
                }
            }
        }
    }

    @Test
    void dotAndAddScaledMatchScalar() {
        Random r = new Random(3);
        try (Arena a = Arena.ofConfined()) {
            for (KvType t : KvType.values()) {
                for (int n : SIZES) {
                    float[] k = new float[n];
                    float[] q = new float[n + 1];
                    for (int i = 0; i < n; i++) k[i] = (float) r.nextGaussian();
                    for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
                    long off = 2L * r.nextInt(3);
                    MemorySegment s = a.allocate(off + 4L * n + 4);
                    KvCodec.encodeScalar(t, k, 0, s, off, n);

                    float scale = 0;
                    for (int i = 0; i < n; i++) scale += Math.abs(KvCodec.get(t, s, off, i) * q[1 + i]);
                    assertThat(KvCodec.dot(t, s, off, q, 1, n)).as("%s n=%d", t, n)
                            .isCloseTo(KvCodec.dotScalar(t, s, off, q, 1, n), within(1e-5f * scale + 1e-30f));

                    float p = (float) r.nextGaussian();
                    float[] fast = q.clone();
                    float[] slow = q.clone();
                    KvCodec.addScaled(t, s, off, p, fast, 1, n);
                    KvCodec.addScaledScalar(t, s, off, p, slow, 1, n);
                    for (int i = 0; i < q.length; i++) {
                        // FMA rounds once where the reference rounds twice: at most one ulp of the larger term apart.
                        float tol = 2 * Math.ulp(Math.max(Math.abs(slow[i]), Math.abs(q[i])) + Math.abs(p));
                        assertThat(fast[i]).as("%s n=%d i=%d", t, n, i).isCloseTo(slow[i], within(tol));
                    }
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even significand, 1.
        assertThat(KvCodec.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up to 1 + 2^-6.
        assertThat(KvCodec.floatToBf16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);
        // Just above the tie rounds up.
        assertThat(KvCodec.floatToBf16(Math.nextUp(1f + 0x1p-8f))).isEqualTo((short) 0x3F81);
        assertThat(KvCodec.floatToBf16(-2.5f)).isEqualTo((short) 0xC020);
        assertThat(KvCodec.floatToBf16(-0.0f)).isEqualTo((short) 0x8000);
        assertThat(KvCodec.floatToBf16(Float.MAX_VALUE)).isEqualTo((short) 0x7F80); // rounds to +infinity
        assertThat(KvCodec.floatToBf16(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
        assertThat(Float.isNaN(KvCodec.bf16ToFloat(KvCodec.floatToBf16(Float.intBitsToFloat(0x7F800001))))).isTrue();
        assertThat(KvCodec.bf16ToFloat((short) 0x3FC0)).isEqualTo(1.5f);
    }

    @Test
    void bf16ErrorIsWithinHalfAnUlp() {
        Random r = new Random(4);
        for (int i = 0; i < 100_000; i++) {
            float x = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(x) || Float.isInfinite(x) || Math.abs(x) > 0x1.fefp127f) continue;
            float y = KvCodec.bf16ToFloat(KvCodec.floatToBf16(x));
            // bf16 keeps 8 significant bits: rounding error at most 2^-9 relative (and exact below for subnormals' grid).
            assertThat(Math.abs(y - x)).as("x=%s", x).isLessThanOrEqualTo(Math.max(Math.abs(x) * 0x1p-8f, Float.MIN_VALUE * 0x1p16f));
        }
    }

    @Test
    void addScaledRowsEqualsRowByRowBitForBit() {
        // The block form (each output vector loaded once for all rows) does the same operations in the same order.
        java.util.Random r = new java.util.Random(21);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            for (KvType t : KvType.values()) {
                for (int n : SIZES) {
                    for (int rows : new int[] {0, 1, 5, 16}) {
                        long stride = 4L * n + 8, off = 2L * r.nextInt(3);
                        MemorySegment s = a.allocate(off + stride * Math.max(rows, 1) + 4);
                        for (int row = 0; row < rows; row++) {
                            float[] v = new float[n];
                            for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
                            KvCodec.encodeScalar(t, v, 0, s, off + row * stride, n);
                        }
                        float[] p = new float[rows + 2];
                        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
                        float[] fast = new float[n + 1], slow = new float[n + 1];
                        for (int i = 0; i <= n; i++) fast[i] = slow[i] = (float) r.nextGaussian();
                        KvCodec.addScaledRows(t, s, off, stride, rows, p, 1, fast, 1, n);
                        for (int row = 0; row < rows; row++) KvCodec.addScaled(t, s, off + row * stride, p[1 + row], slow, 1, n);
                        assertThat(fast).as("%s n=%d rows=%d", t, n, rows).containsExactly(slow);
                    }
                }
            }
        }
    }
}
