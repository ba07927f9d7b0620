package io.baton.engine.synth;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.gguf.GgufException;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;
import io.baton.engine.gguf.GgufValue;
import io.baton.engine.gguf.GgufWriter;
import io.baton.engine.model.Architecture;
import io.baton.engine.model.ModelConfig;
import io.baton.engine.synth.ModelShape.Llama3Rope;
import io.baton.engine.tensor.GgmlType;
import io.baton.engine.tensor.Quantize;
import io.baton.engine.tensor.TestDequant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelSynthTest {
    @TempDir
    Path dir;

    /** The shapes of the llama.cpp-made random fixtures in ../shared/models, to compare file layouts with. */
    static final ModelShape TINY_LLAMA3 = new ModelShape("tiny-llama3", Architecture.LLAMA, 64, 2, 4, 2, 16, 128, 128256, 2048, 5e5f, 1e-5f, true,
            new Llama3Rope(32f, 1f, 4f, 8192));
    static final ModelShape TINY_QWEN2 = new ModelShape("tiny-qwen2", Architecture.QWEN2, 64, 2, 4, 2, 16, 128, 151936, 2048, 1e6f, 1e-6f, true, null);
    static final ModelShape TINY_QWEN3 = new ModelShape("tiny-qwen3", Architecture.QWEN3, 64, 2, 4, 2, 32, 128, 151936, 2048, 1e6f, 1e-6f, true, null);
    /** Rows of 256 for the K-quants, one layer. */
    static final ModelShape TINY_K = new ModelShape("tiny-k", Architecture.LLAMA, 256, 1, 4, 2, 64, 512, 32000, 4096, 1e4f, 1e-5f, true, null);
    /** Rows of 96: K-quants fall back to legacy types (except ffn_down, whose rows are 256); an untied output. */
    static final ModelShape TINY_FALLBACK = new ModelShape("tiny-fallback", Architecture.QWEN2, 96, 1, 2, 1, 48, 256, 32000, 4096, 1e6f, 1e-6f, false, null);

    private static Path vocab(String name) {
        return Fixtures.shared().resolve("vocab").resolve(name);
    }

    private static final String SPM = "ggml-vocab-llama-spm.gguf";

    private Path synth(ModelShape shape, WeightType type, String vocab, long seed, int threads) throws IOException {
        return synth(shape, type, vocab(vocab), seed, threads);
    }

    private Path synth(ModelShape shape, WeightType type, Path vocab, long seed, int threads) throws IOException {
        Path out = dir.resolve(shape.name() + "-" + type.cliName() + "-" + seed + "-" + threads + ".gguf");
        ModelSynth.Result r = ModelSynth.write(shape, type, vocab, out, seed, threads);
        assertThat(r.bytes()).isEqualTo(Files.size(out));
        return out;
    }

    static Stream<Arguments> familiesAndFloatTypes() {
        return Stream.of(TINY_LLAMA3, TINY_QWEN2, TINY_QWEN3).flatMap(s -> Stream.of(WeightType.F32, WeightType.F16, WeightType.BF16, WeightType.Q8_0)
                .map(t -> Arguments.of(s, t)));
    }

    /** Loads in the engine and gives finite, non-degenerate logits. */
    @ParameterizedTest
    @MethodSource("familiesAndFloatTypes")
    void loadsAndRuns(ModelShape shape, WeightType type) throws IOException {
        Path p = synth(shape, type, SPM, 7, 2);
        try (Model m = Model.load(p, 2)) {
            ModelConfig c = m.config();
            assertThat(c.architecture()).isEqualTo(shape.arch());
            assertThat(List.of(c.dim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(), c.ffnDim(), c.vocabSize(), c.contextLength()))
                    .containsExactly(shape.dim(), shape.layers(), shape.heads(), shape.kvHeads(), shape.headDim(), shape.ffnDim(), 32000, shape.contextLength());
            assertThat(c.ropeTheta()).isEqualTo(shape.ropeTheta());
            assertThat(c.rmsEps()).isEqualTo(shape.rmsEps());
            float[] logits;
            try (var seq = m.newSequence(8)) {
                logits = seq.forward(new int[] {1, 450, 4996, 31999, 29871}, false);
            }
            assertThat(logits).hasSize(32000);
            double sum = 0, sq = 0;
            for (float v : logits) {
                assertThat(Float.isFinite(v)).isTrue();
                sum += v;
                sq += v * (double) v;
            }
            double std = Math.sqrt(sq / logits.length - (sum / logits.length) * (sum / logits.length));
            // Output rows have std 1/sqrt(dim) and the final norm makes activations ~unit: logits std ~1.
            assertThat(std).isBetween(0.3, 3.0);
        }
    }

    static Stream<Arguments> fixtures() {
        return Stream.of(Arguments.of(TINY_LLAMA3, "llama3-tiny-Q8_0.gguf", "ggml-vocab-llama3.2-bpe.gguf"),
                Arguments.of(TINY_QWEN2, "qwen2-tiny-Q8_0.gguf", "ggml-vocab-qwen2.5.gguf"),
                Arguments.of(TINY_QWEN3, "qwen3-tiny-Q8_0.gguf", "ggml-vocab-qwen2.5.gguf"));
    }

    /**
     * Against files llama.cpp's tools made for the same shapes: the same model metadata keys, in the same order and
     * with the same values (but the name), the same tensors with the same types and shapes, the same RoPE factors;
     * the tokenizer is the vocabulary file's, every key of it.
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void layoutIsLlamaCpps(ModelShape shape, String fixture, String vocabFile) throws IOException {
        Path p = synth(shape, WeightType.Q8_0, vocabFile, 1, 2);
        try (GgufFile ours = GgufFile.open(p); GgufFile theirs = GgufFile.open(Fixtures.model(fixture)); GgufFile voc = GgufFile.open(vocab(vocabFile))) {
            List<String> ourKeys = ours.metadata().keySet().stream().filter(k -> !k.startsWith("tokenizer.")).toList();
            List<String> theirKeys = theirs.metadata().keySet().stream().filter(k -> !k.startsWith("tokenizer.")).toList();
            assertThat(ourKeys).containsExactlyElementsOf(theirKeys);
            for (String k : ourKeys) {
                if (!k.equals("general.name")) assertThat(ours.value(k)).as(k).isEqualTo(theirs.value(k));
            }
            for (Map.Entry<String, GgufValue> e : voc.metadata().entrySet()) {
                if (e.getKey().startsWith("tokenizer.")) assertThat(ours.value(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
            }
            assertThat(ours.metadata().keySet().stream().filter(k -> k.startsWith("tokenizer.")).count())
                    .isEqualTo(voc.metadata().keySet().stream().filter(k -> k.startsWith("tokenizer.")).count());
            assertThat(ours.tensors().keySet()).containsExactlyInAnyOrderElementsOf(theirs.tensors().keySet());
            for (GgufTensorInfo t : theirs.tensors().values()) {
                GgufTensorInfo o = ours.tensorInfo(t.name());
                assertThat(o.type()).as(t.name()).isEqualTo(t.type());
                assertThat(o.dims()).as(t.name()).isEqualTo(t.dims());
            }
            GgufTensorInfo freqs = theirs.tensorInfo("rope_freqs.weight");
            if (freqs != null) {
                // The fixture's factors were computed in double after the first step, ours in float32 as the converter's
                // torch code does (see llama32RopeFactorsAsTheConverterComputesThem): they agree within one ulp.
                float[] a = floats(ours, ours.tensorInfo("rope_freqs.weight")), b = floats(theirs, freqs);
                assertThat(a).hasSameSizeAs(b);
                for (int i = 0; i < a.length; i++) assertThat(a[i]).isCloseTo(b[i], org.assertj.core.data.Offset.offset(Math.ulp(b[i])));
            }
        }
    }

    @Test
    void llama32RopeFactorsAsTheConverterComputesThem() {
        // Llama 3.2 1B: head_dim 64, theta 5e5, factor 32. Pair i turns 2π·θ^(i/32) radians per position: below
        // 8192/4 (i <= 14) it keeps factor 1, above 8192 (i >= 18) it gets 32, and pairs 15..17 ramp between.
        float[] f = ModelSynth.llama3RopeFactors(64, 5e5f, new Llama3Rope(32f, 1f, 4f, 8192));
        assertThat(f).hasSize(32);
        for (int i = 0; i < 32; i++) {
            if (i <= 14) assertThat(f[i]).isEqualTo(1f);
            else if (i >= 18) assertThat(f[i]).isEqualTo(32f);
            else assertThat(f[i]).isStrictlyBetween(1f, 32f).isGreaterThan(f[i - 1]);
        }
        // The ramp as llama.cpp's converted Llama 3.2 files hold it (float32 torch arithmetic), printed to the shortest
        // decimal that identifies each float: as listed by a public test of another project ("LLAMA_CPP_DIVISORS").
        assertThat(new String[] {Float.toString(f[15]), Float.toString(f[16]), Float.toString(f[17])})
                .containsExactly("1.6513293", "3.2922628", "9.666731");
    }

    @Test
    void sameSeedSameFileWhateverTheThreadsOtherSeedOtherFile() throws IOException {
        Path a = synth(TINY_QWEN3, WeightType.Q8_0, SPM, 42, 1);
        Path b = synth(TINY_QWEN3, WeightType.Q8_0, SPM, 42, 2);
        Path c = synth(TINY_QWEN3, WeightType.Q8_0, SPM, 43, 2);
        assertThat(Files.mismatch(a, b)).isEqualTo(-1L);
        assertThat(Files.mismatch(a, c)).isNotEqualTo(-1L);
        try (GgufFile ga = GgufFile.open(a); GgufFile gc = GgufFile.open(c)) {
            for (GgufTensorInfo t : ga.tensors().values()) {
                boolean same = MemorySegment.mismatch(ga.tensorData(t), 0, t.byteSize(), gc.tensorData(gc.tensorInfo(t.name())), 0, t.byteSize()) == -1;
                assertThat(same).as(t.name() + " differs between seeds").isFalse();
            }
        }
    }

    private static float[] floats(GgufFile g, GgufTensorInfo t) {
        return g.tensorData(t).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * Every quantized file is the F32 file of the same seed quantized by {@link Quantize}, byte for byte, and its
     * weights are within each type's error of the F32 weights.
     */
    @Test
    void quantizedFilesAreTheF32FileQuantized() throws IOException {
        // A made-up vocabulary of 1000 tokens keeps the embeddings small: any vocabulary file will do.
        Path vocab = dir.resolve("vocab-1000.gguf");
        String[] tokens = new String[1000];
        for (int i = 0; i < tokens.length; i++) tokens[i] = "t" + i;
        new GgufWriter().put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.array(io.baton.engine.gguf.GgufValueType.STRING, tokens)).write(vocab);
        Map<WeightType, Double> maxRelativeRms = Map.of(WeightType.F16, 1e-3, WeightType.BF16, 5e-3, WeightType.Q8_0, 0.01,
                WeightType.Q6_K, 0.03, WeightType.Q4_0, 0.15, WeightType.Q4_K, 0.12);
        for (ModelShape shape : List.of(TINY_K, TINY_FALLBACK)) {
            Path ref = synth(shape, WeightType.F32, vocab, 3, 2);
            try (GgufFile f32 = GgufFile.open(ref)) {
                for (WeightType type : maxRelativeRms.keySet()) {
                    Path p = synth(shape, type, vocab, 3, 2);
                    try (GgufFile q = GgufFile.open(p)) {
                        assertThat(q.tensorInfo("token_embd.weight").dims()).containsExactly(shape.dim(), 1000);
                        assertThat(q.getInt("general.file_type")).isEqualTo(type.fileType);
                        for (GgufTensorInfo rt : f32.tensors().values()) {
                            GgufTensorInfo qt = q.tensorInfo(rt.name());
                            float[] x = floats(f32, rt);
                            int cols = (int) rt.dims()[0];
                            GgmlType expect = rt.dims().length == 1 ? GgmlType.F32 : type.matrixType(cols);
                            assertThat(qt.type()).as(rt.name()).isEqualTo(expect);
                            MemorySegment mine = MemorySegment.ofArray(new byte[(int) qt.byteSize()]);
                            for (int r = 0; r < x.length / cols; r++) Quantize.row(expect, x, r * cols, cols, mine, r * expect.bytesFor(cols));
                            assertThat(MemorySegment.mismatch(mine, 0, qt.byteSize(), q.tensorData(qt), 0, qt.byteSize())).as(rt.name()).isEqualTo(-1L);
                            float[] y = new float[x.length];
                            TestDequant.row(expect, q.tensorData(qt), 0, y, 0, x.length);
                            double err = 0, norm = 0;
                            for (int i = 0; i < x.length; i++) {
                                err += (x[i] - y[i]) * (double) (x[i] - y[i]);
                                norm += x[i] * (double) x[i];
                            }
                            assertThat(Math.sqrt(err / norm)).as(type + " " + rt.name()).isLessThan(maxRelativeRms.get(type));
                        }
                    }
                }
            }
        }
        try (GgufFile g = GgufFile.open(synth(TINY_FALLBACK, WeightType.Q4_K, vocab, 3, 2))) {
            assertThat(g.tensorInfo("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q4_0);
            assertThat(g.tensorInfo("blk.0.ffn_down.weight").type()).isEqualTo(GgmlType.Q4_K);
        }
    }

    /** Scales as documented in ModelSynth: 1/sqrt(cols), residual projections also 1/sqrt(2 layers), norms 1 ± 0.05. */
    @Test
    void weightScalesAreAsDocumented() throws IOException {
        ModelShape s = TINY_QWEN2.withLayers(3);
        try (GgufFile g = GgufFile.open(synth(s, WeightType.F32, SPM, 9, 2))) {
            assertStats(g, "token_embd.weight", 0, 1 / Math.sqrt(64));
            assertStats(g, "blk.1.attn_q.weight", 0, 1 / Math.sqrt(64));
            assertStats(g, "blk.2.ffn_up.weight", 0, 1 / Math.sqrt(64));
            assertStats(g, "blk.0.attn_output.weight", 0, 1 / Math.sqrt(64) / Math.sqrt(6));
            assertStats(g, "blk.2.ffn_down.weight", 0, 1 / Math.sqrt(128) / Math.sqrt(6));
            assertStats(g, "blk.0.attn_norm.weight", 1, 0.05);
            assertStats(g, "output_norm.weight", 1, 0.05);
            assertStats(g, "blk.1.attn_q.bias", 0, 0.05);
        }
    }

    private static void assertStats(GgufFile g, String name, double mean, double std) {
        float[] x = floats(g, g.tensorInfo(name));
        double s = 0, sq = 0;
        for (float v : x) {
            s += v;
            sq += v * (double) v;
        }
        double m = s / x.length, sd = Math.sqrt(sq / x.length - m * m);
        double tolerance = 4 * std / Math.sqrt(x.length) + 1e-9;
        assertThat(m).as(name + " mean").isCloseTo(mean, org.assertj.core.data.Offset.offset(tolerance));
        assertThat(sd).as(name + " std").isCloseTo(std, org.assertj.core.data.Offset.offset(std * (x.length > 10000 ? 0.02 : 0.3)));
    }

    /** The known shapes have the real models' parameter counts (as their model cards and safetensors give them). */
    @Test
    void knownShapesHaveTheRealParameterCounts() {
        Map<String, Long> published = Map.of("qwen2.5-0.5b", 494_032_768L, "qwen2.5-1.5b", 1_543_714_304L, "llama-3.2-1b", 1_235_814_400L,
                "llama-3.2-3b", 3_212_749_824L, "qwen3-0.6b", 596_049_920L, "smollm2-135m", 134_515_008L);
        for (ModelShape s : ModelShapes.ALL) assertThat(s.parameterCount(s.vocabSize())).as(s.name()).isEqualTo(published.get(s.name()));
        assertThat(ModelShapes.find("Llama-3.2-1B")).isPresent();
        assertThat(ModelShapes.find("llama-7b")).isEmpty();
        assertThat(ModelShapes.names()).isEqualTo("qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, llama-3.2-3b, qwen3-0.6b, smollm2-135m");
    }

    /** A real shape, cut to one layer, loads and runs. */
    @Test
    void realShapeCutToOneLayerLoads() throws IOException {
        ModelShape s = ModelShapes.find("smollm2-135m").orElseThrow().withLayers(1);
        Path p = synth(s, WeightType.Q8_0, SPM, 5, 2);
        try (Model m = Model.load(p, 2)) {
            assertThat(m.config().qDim()).isEqualTo(576);
            assertThat(m.config().kDim()).isEqualTo(192);
            assertThat(m.gguf().getInt("llama.context_length")).isEqualTo(8192);
            assertThat(m.gguf().getInt("llama.vocab_size")).isEqualTo(32000);
            float[] logits;
            try (var seq = m.newSequence(8)) {
                logits = seq.forward(new int[] {1, 2, 3}, false);
            }
            for (float v : logits) assertThat(Float.isFinite(v)).isTrue();
        }
    }

    /** Every known shape's full tensor list (not written: too big for a test) adds up to the real model's size. */
    @Test
    void knownShapesTensorListsAreComplete() {
        for (ModelShape s : ModelShapes.ALL) {
            List<ModelSynth.Spec> specs = ModelSynth.tensors(s, WeightType.Q8_0, s.vocabSize());
            long params = specs.stream().filter(t -> !t.name().equals("rope_freqs.weight"))
                    .mapToLong(t -> java.util.Arrays.stream(t.dims()).reduce(1, Math::multiplyExact)).sum();
            assertThat(params).as(s.name()).isEqualTo(s.parameterCount(s.vocabSize()));
            int perLayer = 9 + (s.arch().qkvBias ? 3 : 0) + (s.arch().qkNorm ? 2 : 0);
            assertThat(specs).as(s.name()).hasSize(2 + s.layers() * perLayer + (s.llama3Rope() != null ? 1 : 0));
        }
        List<ModelSynth.Spec> llama = ModelSynth.tensors(ModelShapes.find("llama-3.2-1b").orElseThrow(), WeightType.Q4_K, 128256);
        assertThat(llama.getFirst().name()).isEqualTo("rope_freqs.weight");
        assertThat(llama.getFirst().dims()).containsExactly(32);
        assertThat(llama.stream().filter(t -> t.name().equals("blk.15.ffn_down.weight")).findFirst().orElseThrow().dims()).containsExactly(8192, 2048);
        assertThat(llama.stream().filter(t -> t.dims().length == 2).allMatch(t -> t.type() == GgmlType.Q4_K)).isTrue();
    }

    @Test
    void badVocabularyFilesAreClearErrors() throws IOException {
        Path out = dir.resolve("out.gguf");
        assertThatThrownBy(() -> ModelSynth.write(TINY_QWEN2, WeightType.F16, dir.resolve("missing.gguf"), out, 0, 1))
                .isInstanceOf(GgufException.class).hasMessageContaining("vocabulary file not found");
        Path junk = dir.resolve("junk.gguf");
        Files.writeString(junk, "this is not a GGUF file at all, but long enough");
        assertThatThrownBy(() -> ModelSynth.write(TINY_QWEN2, WeightType.F16, junk, out, 0, 1))
                .isInstanceOf(GgufException.class).hasMessageContaining("not a GGUF file");
        Path noTokenizer = dir.resolve("notok.gguf");
        new GgufWriter().put("general.architecture", GgufValue.string("llama")).write(noTokenizer);
        assertThatThrownBy(() -> ModelSynth.write(TINY_QWEN2, WeightType.F16, noTokenizer, out, 0, 1))
                .isInstanceOf(GgufException.class).hasMessageContaining("has no tokenizer.ggml.tokens");
        assertThat(out).doesNotExist();
    }
}
