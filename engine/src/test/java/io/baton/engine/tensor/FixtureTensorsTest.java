package io.baton.engine.tensor;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;
import io.baton.engine.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real tensors of the fixture models ({@code ../shared/models}): every supported tensor dequantizes to finite
 * values, the fast dequantization gives the reference's bits, sampled elements match GGML's formula evaluated here
 * element by element straight from the raw bytes, and matrix products on real weights match the reference.
 */
class FixtureTensorsTest {

    private static Tensor tensor(GgufFile g, GgufTensorInfo info) {
        return new Tensor(info.name(), info.type(), info.dims(), g.tensorData(info));
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xff;
    }

    private static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(Dequant.LE_SHORT, off));
    }

    /** Scale (which=0) or min (which=1) of sub-block j from the 12 packed bytes at {@code sc}, per ggml-common.h. */
    private static int sixBit(MemorySegment s, long sc, int j, int which) {
        if (j < 4) return u8(s, sc + j + 4 * which) & 63;
        int low = which == 0 ? u8(s, sc + j + 4) & 15 : u8(s, sc + j + 4) >> 4;
        int high = u8(s, sc + j - 4 + 4 * which) >> 6;
        return low | high << 4;
    }

    /** Element {@code i} of the row at {@code row}, written out from GGML's formulas one element at a time. */
    static float element(GgmlType type, MemorySegment s, long row, int i) {
        switch (type) {
            case F32: return s.get(Dequant.LE_FLOAT, row + 4L * i);
            case F16: return f16(s, row + 2L * i);
            case BF16: return Float.intBitsToFloat((s.get(Dequant.LE_SHORT, row + 2L * i) & 0xffff) << 16);
            case Q8_0: {
                long b = row + 34L * (i / 32);
                return s.get(ValueLayout.JAVA_BYTE, b + 2 + i % 32) * f16(s, b);
            }
            case Q4_0: {
                long b = row + 18L * (i / 32);
                int j = i % 32, q = u8(s, b + 2 + j % 16);
                return ((j < 16 ? q & 15 : q >> 4) - 8) * f16(s, b);
            }
            case Q4_K, Q5_K: {
                boolean five = type == GgmlType.Q5_K;
                long b = row + (five ? 176L : 144L) * (i / 256);
                int e = i % 256, c = e / 64, hi = (e % 64) / 32, l = e % 32, sub = 2 * c + hi;
                int qb = u8(s, b + (five ? 48 : 16) + 32 * c + l);
                int q = hi == 0 ? qb & 15 : qb >> 4;
                if (five) q += 16 * ((u8(s, b + 16 + l) >> sub) & 1);
                float d1 = f16(s, b) * sixBit(s, b + 4, sub, 0), m1 = f16(s, b + 2) * sixBit(s, b + 4, sub, 1);
                return d1 * q - m1;
            }
            case Q6_K: {
                long b = row + 210L * (i / 256);
                int e = i % 256, half = e / 128, k = (e % 128) / 32, l = e % 32;
                int lb = u8(s, b + 64 * half + l + (k % 2 == 1 ? 32 : 0));
                int q = ((k < 2 ? lb & 15 : lb >> 4) | ((u8(s, b + 128 + 32 * half + l) >> (2 * k)) & 3) << 4) - 32;
                return f16(s, b + 208) * s.get(ValueLayout.JAVA_BYTE, b + 192 + 8 * half + l / 16 + 2 * k) * q;
            }
            default: throw new IllegalArgumentException(type.toString());
        }
    }

    @Test
    void everySupportedTensorOfEveryFixtureModel() throws IOException {
        Set<GgmlType> typesSeen = EnumSet.noneOf(GgmlType.class);
        Random random = new Random(11);
        try (Stream<Path> files = Files.list(Fixtures.shared().resolve("models"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".gguf")).sorted().toList()) {
                try (GgufFile g = GgufFile.open(p)) {
                    for (GgufTensorInfo info : g.tensors().values()) {
                        assertThat(info.type().supported).as("%s in %s", info.name(), p.getFileName()).isTrue();
                        Tensor t = tensor(g, info);
                        typesSeen.add(t.type());
                        int cols = t.cols();
                        float[] ref = new float[cols], fast = new float[cols];
                        for (int r = 0; r < t.rows(); r++) {
                            long off = r * t.rowBytes();
                            Dequant.row(t.type(), t.data(), off, ref, 0, cols);
                            RowKernel.of(t.type()).dequantize(t.data(), off, fast, 0, cols);
                            for (int c = 0; c < cols; c++) {
                                if (!Float.isFinite(ref[c]) || Float.floatToRawIntBits(ref[c]) != Float.floatToRawIntBits(fast[c])) {
                                    throw new AssertionError(p.getFileName() + " " + t.name() + " row " + r + " col " + c + ": " + ref[c] + " vs fast " + fast[c]);
                                }
                            }
                            if (r % 97 == 0) { // sampled against the element-wise formula
                                for (int k = 0; k < 8; k++) {
                                    int c = random.nextInt(cols);
                                    assertThat(ref[c]).as("%s row %d col %d", t.name(), r, c).isEqualTo(element(t.type(), t.data(), off, c));
                                }
                            }
                        }
                    }
                }
            }
        }
        assertThat(typesSeen).containsAll(MatMulTest.TYPES);
    }

    @Test
    void q8_0EmbeddingRowsOfTinyStoriesByHand() {
        try (GgufFile g = GgufFile.open(Fixtures.model("TinyStories-656K-Q8_0.gguf"))) {
            Tensor emb = tensor(g, g.tensorInfo("token_embd.weight"));
            assertThat(emb.type()).isEqualTo(GgmlType.Q8_0);
            assertThat(emb.cols()).isEqualTo(128);
            float[] row = new float[128];
            emb.dequantizeRow(5, row, 0);
            MemorySegment raw = emb.data();
            long base = 5 * emb.rowBytes(); // 4 blocks of 34 bytes per row
            for (int j = 0; j < 128; j++) {
                long block = base + 34L * (j / 32);
                float d = Float.float16ToFloat((short) (u8(raw, block) | u8(raw, block + 1) << 8));
                assertThat(row[j]).isEqualTo(raw.get(ValueLayout.JAVA_BYTE, block + 2 + j % 32) * d);
            }
            assertThat(row).matches(r -> { for (float v : r) if (!Float.isFinite(v)) return false; return true; });
            assertThat(row).as("not all zero").isNotEqualTo(new float[128]);
        }
    }

    @Test
    void matmulOnRealWeights() {
        String[][] cases = {
            {"llama-spm-quants-Q4_K_M.gguf", "blk.0.ffn_down.weight"},
            {"llama-spm-quants-Q5_K_M.gguf", "blk.0.attn_q.weight"},
            {"llama-spm-quants-Q4_0.gguf", "blk.1.ffn_gate.weight"},
            {"llama-spm-quants-Q6_K.gguf", "output.weight"},
            {"llama-spm-quants-BF16-embQ6K.gguf", "blk.0.ffn_up.weight"},
            {"llama-spm-quants-F16-embQ6K.gguf", "blk.1.attn_output.weight"},
            {"qwen2-tiny-Q8_0.gguf", "blk.0.attn_k.weight"},
        };
        try (WorkerPool pool = new WorkerPool(2)) {
            for (String[] c : cases) {
                try (GgufFile g = GgufFile.open(Fixtures.model(c[0]))) {
                    Tensor w = tensor(g, g.tensorInfo(c[1]));
                    for (int tokens : new int[] {1, 7}) {
                        float[] x = Blocks.randomFloats(tokens * w.cols(), 5);
                        float[] ref = new float[tokens * w.rows()], fast = new float[tokens * w.rows()];
                        MatMul.matmulReference(w, x, tokens, ref);
                        MatMul.matmul(w, x, tokens, fast, pool);
                        double maxRef = 0, maxErr = 0;
                        for (int i = 0; i < ref.length; i++) {
                            maxRef = Math.max(maxRef, Math.abs(ref[i]));
                            maxErr = Math.max(maxErr, Math.abs(ref[i] - fast[i]));
                        }
                        assertThat(maxErr / maxRef).as("%s %s (%s) tokens %d", c[0], c[1], w.type(), tokens).isLessThanOrEqualTo(MatMulTest.TOLERANCE);
                    }
                }
            }
        }
    }
}
