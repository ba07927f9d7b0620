package io.baton.engine.tensor;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class QuantizeTest {

    private static float[] gaussian(long seed, int n, float std) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    private static MemorySegment quantize(GgmlType t, float[] x, int off, int n) {
        MemorySegment q = MemorySegment.ofArray(new byte[(int) t.bytesFor(n) + 7]);
        Quantize.row(t, x, off, n, q, 7);
        return q;
    }

    private static float[] dequantize(GgmlType t, MemorySegment q, int n) {
        float[] y = new float[n];
        TestDequant.row(t, q, 7, y, 0, n);
        return y;
    }

    private static double relativeRms(float[] x, int off, float[] y) {
        double err = 0, ref = 0;
        for (int i = 0; i < y.length; i++) {
            err += (x[off + i] - y[i]) * (double) (x[off + i] - y[i]);
            ref += x[off + i] * (double) x[off + i];
        }
        return Math.sqrt(err / ref);
    }

    @Test
    void halfIsRoundToNearestEven() {
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa, 1.
        assertThat(Quantize.fp16(1f + 0x1p-11f)).isEqualTo((short) 0x3c00);
        assertThat(Quantize.fp16(1f + 3 * 0x1p-11f)).isEqualTo((short) 0x3c02);
        assertThat(Quantize.fp16(65520f)).isEqualTo((short) 0x7c00); // rounds past the largest half to infinity
    }

    @Test
    void bf16IsRoundToNearestEvenWithQuietNaN() {
        assertThat(Quantize.bf16(1f)).isEqualTo((short) 0x3f80);
        assertThat(Quantize.bf16(Float.intBitsToFloat(0x3f808000))).isEqualTo((short) 0x3f80); // tie, even stays
        assertThat(Quantize.bf16(Float.intBitsToFloat(0x3f818000))).isEqualTo((short) 0x3f82); // tie, odd rounds up
        assertThat(Quantize.bf16(Float.intBitsToFloat(0x3f808001))).isEqualTo((short) 0x3f81);
        assertThat(Quantize.bf16(-2.5f)).isEqualTo((short) 0xc020);
        assertThat(Quantize.bf16(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xff80);
        assertThat(Quantize.bf16(Float.intBitsToFloat(0x7f800001))).isEqualTo((short) 0x7fc0); // signalling NaN made quiet
        // Every bf16 value converts to itself.
        for (int h = 0; h < 0x10000; h++) {
            float f = Float.intBitsToFloat(h << 16);
            if (!Float.isNaN(f)) assertThat(Quantize.bf16(f) & 0xffff).isEqualTo(h);
        }
    }

    @Test
    void roundingHelpersMatchC() {
        assertThat(Quantize.roundAway(2.5f)).isEqualTo(3);
        assertThat(Quantize.roundAway(-2.5f)).isEqualTo(-3);
        assertThat(Quantize.roundAway(0.49999997f)).isEqualTo(0);
        assertThat(Quantize.nearestInt(2.5f)).isEqualTo(2);
        assertThat(Quantize.nearestInt(3.5f)).isEqualTo(4);
        assertThat(Quantize.nearestInt(-2.5f)).isEqualTo(-2);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16"})
    void floatTypesRoundTrip(GgmlType t) {
        float[] x = gaussian(1, 1000, 3f);
        float[] y = dequantize(t, quantize(t, x, 0, x.length), x.length);
        for (int i = 0; i < x.length; i++) {
            float expect = switch (t) {
                case F32 -> x[i];
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(x[i]));
                default -> Float.intBitsToFloat((Quantize.bf16(x[i]) & 0xffff) << 16);
            };
            assertThat(y[i]).isEqualTo(expect);
            assertThat(Math.abs(y[i] - x[i])).isLessThanOrEqualTo(Math.abs(x[i]) * (t == GgmlType.BF16 ? 0x1p-8f : 0x1p-11f));
        }
    }

    /** Each block's error is at most half a step of its f16 scale, plus the scale's own f16 rounding on the largest q. */
    @Test
    void q8_0ErrorIsHalfAStep() {
        int n = 32 * 37;
        float[] x = gaussian(2, n + 5, 1f);
        MemorySegment q = quantize(GgmlType.Q8_0, x, 5, n);
        float[] y = dequantize(GgmlType.Q8_0, q, n);
        for (int b = 0; b < n / 32; b++) {
            float d = Float.float16ToFloat(q.get(ValueLayout.JAVA_SHORT_UNALIGNED, 7 + 34L * b));
            float bound = d / 2 + 127 * d * 0x1p-11f;
            for (int j = 0; j < 32; j++) assertThat(Math.abs(x[5 + 32 * b + j] - y[32 * b + j])).isLessThanOrEqualTo(bound);
        }
        assertThat(relativeRms(x, 5, y)).isLessThan(0.01);
    }

    /** Q4_0 rounds to the nearest of 16 steps; only the value opposite the largest magnitude can clip, by one step. */
    @Test
    void q4_0ErrorIsWithinAStep() {
        int n = 32 * 41;
        float[] x = gaussian(3, n, 0.02f);
        MemorySegment q = quantize(GgmlType.Q4_0, x, 0, n);
        float[] y = dequantize(GgmlType.Q4_0, q, n);
        for (int b = 0; b < n / 32; b++) {
            float d = Math.abs(Float.float16ToFloat(q.get(ValueLayout.JAVA_SHORT_UNALIGNED, 7 + 18L * b)));
            for (int j = 0; j < 32; j++) assertThat(Math.abs(x[32 * b + j] - y[32 * b + j])).isLessThanOrEqualTo(d * (1 + 8 * 0x1p-10f));
        }
        assertThat(relativeRms(x, 0, y)).isBetween(0.05, 0.15);
    }

    @Test
    void kQuantsErrorsAreAsExpected() {
        int n = 256 * 29;
        float[] x = gaussian(4, n + 3, 0.05f);
        double q4k = relativeRms(x, 3, dequantize(GgmlType.Q4_K, quantize(GgmlType.Q4_K, x, 3, n), n));
        double q6k = relativeRms(x, 3, dequantize(GgmlType.Q6_K, quantize(GgmlType.Q6_K, x, 3, n), n));
        // Gaussian data: 4 bits with a per-32 scale and min gives ~9%, 6 bits with a per-16 scale ~2%.
        assertThat(q4k).isBetween(0.04, 0.12);
        assertThat(q6k).isBetween(0.005, 0.03);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void zerosStayZeros(GgmlType t) {
        float[] x = new float[512];
        float[] y = dequantize(t, quantize(t, x, 0, 512), 512);
        for (float v : y) assertThat(v).isEqualTo(0f);
    }

    /** A block with one large value among zeros (the K-quants' min/scale search meets a degenerate fit). */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void spikeIsKept(GgmlType t) {
        float[] x = new float[512];
        x[100] = -3f;
        x[300] = 0.5f;
        float[] y = dequantize(t, quantize(t, x, 0, 512), 512);
        assertThat(y[100]).isCloseTo(-3f, org.assertj.core.data.Offset.offset(0.01f));
        for (float v : y) assertThat(Float.isFinite(v)).isTrue();
    }

    // ---- against llama.cpp's files -----------------------------------------------------------------------------

    /** Result of re-quantizing a file's dequantized tensors of one type. */
    private record Requant(long blocks, long identicalBlocks, long tensors) {}

    private static Requant requantize(String model, GgmlType type) {
        long blocks = 0, same = 0, tensors = 0;
        try (GgufFile g = GgufFile.open(Fixtures.model(model))) {
            for (GgufTensorInfo t : g.tensors().values()) {
                if (t.type() != type) continue;
                tensors++;
                int cols = Math.toIntExact(t.dims()[0]);
                long rows = t.elementCount() / cols;
                long rowBytes = type.bytesFor(cols);
                MemorySegment data = g.tensorData(t);
                float[] row = new float[cols];
                MemorySegment out = MemorySegment.ofArray(new byte[(int) rowBytes]);
                for (long r = 0; r < rows; r++) {
                    TestDequant.row(type, data, r * rowBytes, row, 0, cols);
                    Quantize.row(type, row, 0, cols, out, 0);
                    for (int b = 0; b < cols / type.blockSize; b++) {
                        long off = (long) b * type.blockBytes;
                        blocks++;
                        if (MemorySegment.mismatch(out, off, off + type.blockBytes, data, r * rowBytes + off, r * rowBytes + off + type.blockBytes) == -1) same++;
                    }
                }
            }
        }
        System.out.printf("re-quantized %s %s: %d of %d blocks identical (%.4f%%) in %d tensors%n",
                model, type, same, blocks, 100.0 * same / blocks, tensors);
        return new Requant(blocks, same, tensors);
    }

    @Test
    void q8_0OfLlamaCppFilesIsReproducedExactly() {
        Requant a = requantize("TinyStories-656K-Q8_0.gguf", GgmlType.Q8_0);
        Requant b = requantize("qwen2-tiny-Q8_0.gguf", GgmlType.Q8_0);
        assertThat(a.tensors()).isEqualTo(15);
        assertThat(a.identicalBlocks()).isEqualTo(a.blocks());
        assertThat(b.identicalBlocks()).isEqualTo(b.blocks());
    }

    @Test
    void q4_0OfLlamaCppFileIsReproducedExactly() {
        Requant r = requantize("llama-spm-quants-Q4_0.gguf", GgmlType.Q4_0);
        assertThat(r.tensors()).isEqualTo(15);
        assertThat(r.identicalBlocks()).isEqualTo(r.blocks());
    }

    /**
     * The K-quantizers search for a scale, so re-quantizing dequantized values need not land on the original bytes:
     * a Q6_K group whose largest value was not at the grid's end (q = -32) is fitted afresh. GGML's own C reference
     * (quantize_row_q6_K_ref / _q4_K_ref, built without FMA contraction) re-quantizing these same dequantized tensors
     * gives the very same counts as this class: 55195 of 68608 Q6_K blocks and 35953 of 35968 Q4_K blocks identical
     * (measured outside the build; on random floats both agree with this class on every block).
     */
    @Test
    void kQuantsOfLlamaCppFilesAreReproducedAsGgmlDoes() {
        Requant q6 = requantize("llama-spm-quants-Q6_K.gguf", GgmlType.Q6_K);
        Requant q4 = requantize("llama-spm-quants-Q4_K_M.gguf", GgmlType.Q4_K);
        assertThat(q6.tensors()).isEqualTo(16);
        assertThat(q6.identicalBlocks()).isEqualTo(55195);
        assertThat(q6.blocks()).isEqualTo(68608);
        assertThat(q4.identicalBlocks()).isEqualTo(35953);
        assertThat(q4.blocks()).isEqualTo(35968);
    }
}
