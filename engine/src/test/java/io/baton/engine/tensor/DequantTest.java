package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Blocks.putFloat;
import static io.baton.engine.tensor.Blocks.putShort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Hand-built blocks of every supported type, with expected values written from GGML's formulas (ggml-quants.c
 * {@code dequantize_row_*}), independent of the bit twiddling under test. Each test also checks that the vectorized
 * dequantization of the fast path gives the same bits.
 */
class DequantTest {

    private static float[] dequant(GgmlType type, byte[] bytes, int n) {
        MemorySegment s = Blocks.segment(bytes);
        float[] ref = new float[n + 2];
        Dequant.row(type, s, 0, ref, 1, n);
        assertThat(ref[0]).isZero(); // wrote exactly [1, n + 1)
        assertThat(ref[n + 1]).isZero();
        float[] fast = new float[n];
        RowKernel.of(type).dequantize(s, 0, fast, 0, n);
        float[] out = java.util.Arrays.copyOfRange(ref, 1, n + 1);
        assertBitsEqual(fast, out);
        return out;
    }

    static void assertBitsEqual(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                throw new AssertionError("element " + i + ": " + actual[i] + " != " + expected[i]);
            }
        }
    }

    @Test
    void f32IsLittleEndianFloats() {
        byte[] b = new byte[12];
        putFloat(b, 0, 1.5f);
        putFloat(b, 4, -0.0f);
        putFloat(b, 8, Float.MIN_VALUE);
        assertBitsEqual(dequant(GgmlType.F32, b, 3), new float[] {1.5f, -0.0f, Float.MIN_VALUE});
    }

    @Test
    void f16CoversNormalsSubnormalsInfinityAndNaN() {
        int[] halves = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x0400};
        byte[] b = new byte[2 * halves.length];
        for (int i = 0; i < halves.length; i++) putShort(b, 2 * i, halves[i]);
        float[] y = dequant(GgmlType.F16, b, halves.length);
        assertThat(y).containsExactly(1.0f, -2.0f, 65504f, 0x1p-24f, -0.0f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, 0.33325195f, 0x1p-14f);
        byte[] nan = new byte[2];
        putShort(nan, 0, 0x7E00);
        assertThat(dequant(GgmlType.F16, nan, 1)[0]).isNaN();
    }

    @Test
    void bf16IsTheUpperHalfOfAFloat() {
        int[] halves = {0x3F80, 0xC000, 0x7F80, 0x0001, 0x3EAA, 0x8000};
        byte[] b = new byte[2 * halves.length];
        for (int i = 0; i < halves.length; i++) putShort(b, 2 * i, halves[i]);
        assertThat(dequant(GgmlType.BF16, b, halves.length)).containsExactly(1.0f, -2.0f, Float.POSITIVE_INFINITY,
                Float.intBitsToFloat(0x00010000), Float.intBitsToFloat(0x3EAA0000), -0.0f);
    }

    @Test
    void q8_0IsScaleTimesSignedByte() {
        byte[] b = new byte[68];
        putShort(b, 0, 0x3800);  // d = 0.5
        putShort(b, 34, 0xC400); // d = -4
        for (int j = 0; j < 32; j++) {
            b[2 + j] = (byte) (j * 9 - 128); // -128, -119, ..., 151 wraps past 127
            b[36 + j] = (byte) (j - 16);
        }
        float[] y = dequant(GgmlType.Q8_0, b, 64);
        for (int j = 0; j < 32; j++) {
            assertThat(y[j]).isEqualTo((byte) (j * 9 - 128) * 0.5f);
            assertThat(y[32 + j]).isEqualTo((j - 16) * -4f);
        }
        assertThat(y[0]).isEqualTo(-64f);
        assertThat(y[31]).isEqualTo((byte) 151 * 0.5f); // 151 - 256 = -105
    }

    @Test
    void q4_0LowNibblesFirstThenHighNibblesMinusEight() {
        byte[] b = new byte[18];
        putShort(b, 0, 0x4000); // d = 2
        for (int j = 0; j < 16; j++) b[2 + j] = (byte) (j | (15 - j) << 4);
        float[] y = dequant(GgmlType.Q4_0, b, 32);
        for (int j = 0; j < 16; j++) {
            assertThat(y[j]).isEqualTo((j - 8) * 2f);
            assertThat(y[16 + j]).isEqualTo((15 - j - 8) * 2f);
        }
        assertThat(y[0]).isEqualTo(-16f);
        assertThat(y[16]).isEqualTo(14f);
    }

    /** 6-bit scales and mins of the 8 sub-blocks of a q4_K/q5_K block, and their 12-byte packing, worked by hand. */
    static final int[] SC = {1, 2, 3, 63, 17, 33, 48, 5};
    static final int[] MN = {0, 4, 7, 62, 21, 40, 63, 0};
    static final int[] PACKED = {
        1 | 1 << 6, 2 | 2 << 6, 3 | 3 << 6, 63,      // scale j (j < 4) | high 2 bits of scale j+4 (17>>4, 33>>4, 48>>4, 5>>4)
        0 | 1 << 6, 4 | 2 << 6, 7 | 3 << 6, 62,      // min j | high 2 bits of min j+4 (21>>4, 40>>4, 63>>4, 0>>4)
        1 | 5 << 4, 1 | 8 << 4, 0 | 15 << 4, 5 | 0, // low 4 bits of scale j+4 | low 4 bits of min j+4 << 4
    };

    @Test
    void sixBitScalePackingOfKQuants() {
        byte[] b = new byte[12];
        for (int i = 0; i < 12; i++) b[i] = (byte) PACKED[i];
        MemorySegment s = Blocks.segment(b);
        for (int j = 0; j < 8; j++) {
            int sm = Dequant.scaleMinK4(s, 0, j);
            assertThat(sm & 0xff).as("scale %d", j).isEqualTo(SC[j]);
            assertThat(sm >>> 8).as("min %d", j).isEqualTo(MN[j]);
        }
        // the kernels' register version agrees on the hand-built bytes and on random ones
        java.util.Random r = new java.util.Random(3);
        for (int round = 0; round < 200; round++) {
            if (round > 0) r.nextBytes(b);
            MemorySegment t = Blocks.segment(b);
            long lo = t.get(Dequant.LE_LONG, 0);
            int hi = t.get(Dequant.LE_INT, 8);
            for (int j = 0; j < 8; j++) assertThat(Dequant.scaleMinK4(lo, hi, j)).isEqualTo(Dequant.scaleMinK4(t, 0, j));
        }
    }

    /** Quant q (4 bits) of element l of chunk c's low (hi=0) or high (hi=1) sub-block in the test blocks below. */
    private static int q4(int l, int hi) {
        return hi == 0 ? l & 15 : 15 - (l & 15);
    }

    @Test
    void q4_KScalesMinsAndNibbles() {
        byte[] b = new byte[144];
        putShort(b, 0, 0x3C00); // d = 1
        putShort(b, 2, 0x3800); // dmin = 0.5
        for (int i = 0; i < 12; i++) b[4 + i] = (byte) PACKED[i];
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) b[16 + 32 * c + l] = (byte) (q4(l, 0) | q4(l, 1) << 4);
        }
        float[] y = dequant(GgmlType.Q4_K, b, 256);
        for (int c = 0; c < 4; c++) {
            for (int hi = 0; hi < 2; hi++) {
                int sub = 2 * c + hi;
                for (int l = 0; l < 32; l++) {
                    float expected = 1f * SC[sub] * q4(l, hi) - 0.5f * MN[sub];
                    assertThat(y[64 * c + 32 * hi + l]).as("sub-block %d element %d", sub, l).isEqualTo(expected);
                }
            }
        }
        assertThat(y[64 * 1 + 32 + 0]).isEqualTo(63f * 15 - 31f); // sub-block 3: scale 63, min 62, q 15
    }

    @Test
    void q4_KRoundsLikeGgml() {
        // d = 0.1 (not exact in binary): d * sc and dmin * m are rounded to float before use, as in GGML.
        byte[] b = new byte[144];
        putShort(b, 0, Blocks.half(0.1f));
        putShort(b, 2, Blocks.half(0.07f));
        for (int i = 0; i < 12; i++) b[4 + i] = (byte) PACKED[i];
        for (int i = 0; i < 128; i++) b[16 + i] = (byte) (i * 37);
        float[] y = dequant(GgmlType.Q4_K, b, 256);
        float d = Float.float16ToFloat(Blocks.half(0.1f)), dmin = Float.float16ToFloat(Blocks.half(0.07f));
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int q = (byte) (((32 * c + l) * 37)) & 0xff;
                float d1 = d * SC[2 * c], m1 = dmin * MN[2 * c], d2 = d * SC[2 * c + 1], m2 = dmin * MN[2 * c + 1];
                assertThat(y[64 * c + l]).isEqualTo(d1 * (q & 15) - m1);
                assertThat(y[64 * c + 32 + l]).isEqualTo(d2 * (q >>> 4) - m2);
            }
        }
    }

    @Test
    void q5_KAddsTheFifthBitFromQh() {
        byte[] b = new byte[176];
        putShort(b, 0, 0x3C00); // d = 1
        putShort(b, 2, 0x3800); // dmin = 0.5
        for (int i = 0; i < 12; i++) b[4 + i] = (byte) PACKED[i];
        int[] qh = new int[32];
        for (int l = 0; l < 32; l++) {
            qh[l] = (l * 73 + 11) & 0xff;
            b[16 + l] = (byte) qh[l];
        }
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) b[48 + 32 * c + l] = (byte) (q4(l, 0) | q4(l, 1) << 4);
        }
        float[] y = dequant(GgmlType.Q5_K, b, 256);
        for (int c = 0; c < 4; c++) {
            for (int hi = 0; hi < 2; hi++) {
                int sub = 2 * c + hi;
                for (int l = 0; l < 32; l++) {
                    int q = q4(l, hi) + 16 * ((qh[l] >>> sub) & 1); // bit 2c for the low half, 2c+1 for the high half
                    assertThat(y[64 * c + 32 * hi + l]).as("sub-block %d element %d", sub, l)
                            .isEqualTo(1f * SC[sub] * q - 0.5f * MN[sub]);
                }
            }
        }
        // element 1 of sub-block 0: qh[1] = 84 = 0b1010100, bit 0 clear: q = 1; element 0: qh[0] = 11, bit 0 set: q = 16
        assertThat(y[1]).isEqualTo(1f * 1 - 0f);
        assertThat(y[0]).isEqualTo(16f);
    }

    @Test
    void q6_KSixBitQuantsWithSignedScales() {
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) q[i] = (i * 29 + 7) & 63;
        int[] sc = {1, -2, 3, -4, 5, -6, 7, -8, 127, -128, 0, 9, -10, 11, -12, 13};
        byte[] b = new byte[210];
        // packing as in quantize_row_q6_K: ql low nibbles = elements l and l+32, high nibbles = l+64 and l+96
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int e = 128 * h + l;
                b[64 * h + l] = (byte) ((q[e] & 15) | (q[e + 64] & 15) << 4);
                b[64 * h + l + 32] = (byte) ((q[e + 32] & 15) | (q[e + 96] & 15) << 4);
                b[128 + 32 * h + l] = (byte) ((q[e] >> 4) | (q[e + 32] >> 4) << 2 | (q[e + 64] >> 4) << 4 | (q[e + 96] >> 4) << 6);
            }
        }
        for (int i = 0; i < 16; i++) b[192 + i] = (byte) sc[i];
        putShort(b, 208, 0x3400); // d = 0.25
        float[] y = dequant(GgmlType.Q6_K, b, 256);
        for (int i = 0; i < 256; i++) {
            assertThat(y[i]).as("element %d", i).isEqualTo(0.25f * sc[i / 16] * (q[i] - 32));
        }
        assertThat(y[0]).isEqualTo(0.25f * 1 * (7 - 32));
        assertThat(y[128]).isEqualTo(0.25f * 127 * (((128 * 29 + 7) & 63) - 32));
    }

    @Test
    void rejectsPartialBlocksAndUnsupportedTypes() {
        MemorySegment s = Blocks.segment(new byte[64]);
        assertThatThrownBy(() -> Dequant.row(GgmlType.Q8_0, s, 0, new float[16], 0, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block size 32");
        assertThatThrownBy(() -> Dequant.row(GgmlType.Q2_K, s, 0, new float[256], 0, 256))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Q2_K");
    }

    @Test
    void fastDequantizationMatchesReferenceOnRandomBlocks() {
        for (GgmlType type : MatMulTest.TYPES) {
            int cols = type.blockSize == 256 ? 768 : 96;
            Tensor t = Blocks.randomTensor(type, 5, cols, 42 + type.id);
            float[] ref = new float[cols], fast = new float[cols + 3];
            for (int r = 0; r < 5; r++) {
                Dequant.row(type, t.data(), r * t.rowBytes(), ref, 0, cols);
                RowKernel.of(type).dequantize(t.data(), r * t.rowBytes(), fast, 3, cols);
                assertBitsEqual(java.util.Arrays.copyOfRange(fast, 3, cols + 3), ref);
            }
        }
    }
}
