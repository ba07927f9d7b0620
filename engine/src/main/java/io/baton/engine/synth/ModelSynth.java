package io.baton.engine.synth;

import io.baton.engine.gguf.GgufException;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufValue;
import io.baton.engine.gguf.GgufValueType;
import io.baton.engine.gguf.GgufWriter;
import io.baton.engine.model.Architecture;
import io.baton.engine.parallel.WorkerPool;
import io.baton.engine.tensor.GgmlType;
import io.baton.engine.tensor.Quantize;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF with the exact shape of a known model ({@link ModelShape}), seeded random weights and the tokenizer of
 * a vocabulary GGUF: a stand-in for the real model wherever only its size and shape matter (speed, memory, batching).
 *
 * <p>Names and metadata are those llama.cpp's {@code convert_hf_to_gguf.py} writes: {@code general.architecture},
 * {@code <arch>.block_count}, {@code .context_length}, {@code .embedding_length}, {@code .feed_forward_length},
 * {@code .attention.head_count}, {@code .attention.head_count_kv}, {@code .rope.freq_base},
 * {@code .attention.layer_norm_rms_epsilon}, {@code .attention.key_length}/{@code .value_length} (when the config
 * has a head_dim: every family here but qwen2), {@code llama.vocab_size} and {@code llama.rope.dimension_count} (llama
 * only), {@code general.file_type}, {@code general.quantization_version}, then every {@code tokenizer.*} key of the
 * vocabulary file, in its order. Llama 3 RoPE scaling becomes the {@code rope_freqs.weight} tensor, computed as the
 * converter computes it.
 *
 * <p>The vocabulary size is the vocabulary file's token count (the embedding must match the tokenizer), which may differ
 * from the real model's ({@link ModelShape#vocabSize()}): SmolLM2's 49152-token vocabulary is not in
 * {@code ../shared/vocab}, so a SmolLM2 stand-in gets whichever vocabulary it is given.
 *
 * <p>Weight scales keep activations of order one through any depth, so logits are neither degenerate nor overflowing:
 * embedding and Q/K/V/gate/up rows have standard deviation 1/√cols (unit-variance outputs for unit-variance inputs);
 * the attention output and FFN down projections are further scaled by 1/√(2·layers) as in GPT-2's initialisation, so
 * the residual stream grows slowly; norm weights are 1 ± 0.05 (near, not equal to, 1 so a skipped norm shows); Q/K/V
 * biases have standard deviation 0.05.
 *
 * <p>Generation streams: each tensor is produced in chunks of about {@value #CHUNK_BYTES} bytes, rows generated and
 * quantized in parallel on the given threads, then written; memory stays small whatever the model size.
 */
public final class ModelSynth {
    private ModelSynth() {}

    /** Output bytes generated per parallel step. */
    static final int CHUNK_BYTES = 8 << 20;

    /** What was written. */
    public record Result(Path path, long bytes, long parameters, int vocabSize, int tensors) {}

    /** How a tensor's values are made. */
    sealed interface Init {}

    /** Approximately normal values. */
    private record Normal(float mean, float std) implements Init {}

    /** Fixed values (RoPE factors). */
    private record Fixed(float[] values) implements Init {}

    /** One tensor to write. */
    record Spec(String name, long[] dims, GgmlType type, Init init) {}

    /**
     * Writes the model.
     *
     * @param threads threads that generate and quantize rows (the file is the same for any count)
     * @throws GgufException when the vocabulary file is missing, corrupt or has no tokenizer
     * @throws IOException   when the output cannot be written (an existing file is then left as it was)
     */
    public static Result write(ModelShape shape, WeightType type, Path vocabFile, Path out, long seed, int threads) throws IOException {
        Map<String, GgufValue> tokenizer = readTokenizer(vocabFile);
        int vocab = ((String[]) tokenizer.get("tokenizer.ggml.tokens").value()).length;
        List<Spec> specs = tensors(shape, type, vocab);

        GgufWriter w = new GgufWriter();
        metadata(shape, type, vocab, seed).forEach(w::put);
        tokenizer.forEach(w::put);
        w.put("general.quantization_version", GgufValue.uint32(2));
        w.put("general.file_type", GgufValue.uint32(type.fileType));

        try (WorkerPool pool = new WorkerPool(threads); Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(Math.max(CHUNK_BYTES, maxRowBytes(specs)), 64);
            for (Spec s : specs) w.addTensor(s.name(), s.type(), s.dims(), source(s, seed, pool, buffer));
            long bytes = w.write(out);
            return new Result(out, bytes, shape.parameterCount(vocab), vocab, specs.size());
        }
    }

    /** Every {@code tokenizer.*} entry of a vocabulary GGUF, in file order. */
    static Map<String, GgufValue> readTokenizer(Path vocabFile) {
        if (!Files.isRegularFile(vocabFile)) throw new GgufException("vocabulary file not found: " + vocabFile);
        try (GgufFile v = GgufFile.open(vocabFile)) {
            Map<String, GgufValue> tok = new LinkedHashMap<>();
            v.metadata().forEach((k, val) -> {
                if (k.startsWith("tokenizer.")) tok.put(k, val);
            });
            GgufValue tokens = tok.get("tokenizer.ggml.tokens");
            if (tokens == null || tokens.type() != GgufValueType.ARRAY || tokens.elementType() != GgufValueType.STRING || tokens.length() == 0) {
                throw new GgufException("vocabulary file " + vocabFile + " has no tokenizer.ggml.tokens string array");
            }
            return tok;
        }
    }

    private static Map<String, GgufValue> metadata(ModelShape s, WeightType type, int vocab, long seed) {
        Architecture a = s.arch();
        String p = a.ggufName + ".";
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string(a.ggufName));
        m.put("general.type", GgufValue.string("model"));
        m.put("general.name", GgufValue.string(s.name() + " (synthetic: random weights, seed " + seed + ", " + type.cliName() + ")"));
        m.put(p + "block_count", GgufValue.uint32(s.layers()));
        m.put(p + "context_length", GgufValue.uint32(s.contextLength()));
        m.put(p + "embedding_length", GgufValue.uint32(s.dim()));
        m.put(p + "feed_forward_length", GgufValue.uint32(s.ffnDim()));
        m.put(p + "attention.head_count", GgufValue.uint32(s.heads()));
        m.put(p + "attention.head_count_kv", GgufValue.uint32(s.kvHeads()));
        m.put(p + "rope.freq_base", GgufValue.float32(s.ropeTheta()));
        m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(s.rmsEps()));
        // The converter writes key/value_length when config.json has head_dim: Llama 3.2, SmolLM2 and Qwen3 configs
        // do, Qwen2.5's do not (there head_dim is hidden / heads).
        if (a != Architecture.QWEN2 || s.headDim() * s.heads() != s.dim()) {
            m.put(p + "attention.key_length", GgufValue.uint32(s.headDim()));
            m.put(p + "attention.value_length", GgufValue.uint32(s.headDim()));
        }
        if (a == Architecture.LLAMA) {
            m.put(p + "vocab_size", GgufValue.uint32(vocab));
            m.put(p + "rope.dimension_count", GgufValue.uint32(s.headDim()));
        }
        return m;
    }

    /** The tensors, in the order written, with their types and how their values are made. */
    static List<Spec> tensors(ModelShape s, WeightType type, int vocab) {
        List<Spec> t = new ArrayList<>();
        float residualScale = (float) (1 / Math.sqrt(2.0 * s.layers()));
        Normal norm = new Normal(1f, 0.05f);
        Normal bias = new Normal(0f, 0.05f);
        if (s.llama3Rope() != null) t.add(vector("rope_freqs.weight", new Fixed(llama3RopeFactors(s.headDim(), s.ropeTheta(), s.llama3Rope()))));
        t.add(matrix("token_embd.weight", s.dim(), vocab, type, 1f));
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            t.add(vector(b + "attn_norm.weight", s.dim(), norm));
            t.add(matrix(b + "attn_q.weight", s.dim(), s.qDim(), type, 1f));
            if (s.arch().qkvBias) t.add(vector(b + "attn_q.bias", s.qDim(), bias));
            t.add(matrix(b + "attn_k.weight", s.dim(), s.kvDim(), type, 1f));
            if (s.arch().qkvBias) t.add(vector(b + "attn_k.bias", s.kvDim(), bias));
            t.add(matrix(b + "attn_v.weight", s.dim(), s.kvDim(), type, 1f));
            if (s.arch().qkvBias) t.add(vector(b + "attn_v.bias", s.kvDim(), bias));
            if (s.arch().qkNorm) {
                t.add(vector(b + "attn_q_norm.weight", s.headDim(), norm));
                t.add(vector(b + "attn_k_norm.weight", s.headDim(), norm));
            }
            t.add(matrix(b + "attn_output.weight", s.qDim(), s.dim(), type, residualScale));
            t.add(vector(b + "ffn_norm.weight", s.dim(), norm));
            t.add(matrix(b + "ffn_gate.weight", s.dim(), s.ffnDim(), type, 1f));
            t.add(matrix(b + "ffn_up.weight", s.dim(), s.ffnDim(), type, 1f));
            t.add(matrix(b + "ffn_down.weight", s.ffnDim(), s.dim(), type, residualScale));
        }
        t.add(vector("output_norm.weight", s.dim(), norm));
        if (!s.tiedEmbeddings()) t.add(matrix("output.weight", s.dim(), vocab, type, 1f));
        return t;
    }

    /** A weight matrix of {@code rows} rows of {@code cols}, standard deviation gain/√cols. */
    private static Spec matrix(String name, int cols, int rows, WeightType type, float gain) {
        return new Spec(name, new long[] {cols, rows}, type.matrixType(cols), new Normal(0f, (float) (gain / Math.sqrt(cols))));
    }

    private static Spec vector(String name, int n, Normal init) {
        return new Spec(name, new long[] {n}, GgmlType.F32, init);
    }

    private static Spec vector(String name, Fixed init) {
        return new Spec(name, new long[] {init.values().length}, GgmlType.F32, init);
    }

    private static long maxRowBytes(List<Spec> specs) {
        return specs.stream().mapToLong(s -> s.type().bytesFor(s.dims()[0])).max().orElse(0);
    }

    /** Streams a tensor: chunks of rows generated and quantized in parallel, each written when done. */
    private static GgufWriter.TensorSource source(Spec s, long seed, WorkerPool pool, MemorySegment buffer) {
        int cols = Math.toIntExact(s.dims()[0]);
        long rows = 1;
        for (int d = 1; d < s.dims().length; d++) rows *= s.dims()[d];
        long rowBytes = s.type().bytesFor(cols);
        long totalRows = rows;
        return sink -> {
            if (s.init() instanceof Fixed(float[] values)) {
                Quantize.row(s.type(), values, 0, values.length, buffer, 0);
                sink.write(buffer.asSlice(0, rowBytes));
                return;
            }
            Normal n = (Normal) s.init();
            long tensorSeed = RandomWeights.tensorSeed(seed, s.name());
            int chunkRows = (int) Math.max(1, Math.min(totalRows, buffer.byteSize() / rowBytes));
            for (long r0 = 0; r0 < totalRows; r0 += chunkRows) {
                long first = r0;
                int count = (int) Math.min(chunkRows, totalRows - r0);
                pool.forRange(count, (from, to) -> {
                    float[] row = new float[cols];
                    for (int r = from; r < to; r++) {
                        RandomWeights.fillRow(tensorSeed, first + r, n.mean(), n.std(), row, cols);
                        Quantize.row(s.type(), row, 0, cols, buffer, r * rowBytes);
                    }
                });
                sink.write(buffer.asSlice(0, count * rowBytes));
            }
        };
    }

    /**
     * Llama 3 RoPE frequency factors, as llama.cpp's convert_hf_to_gguf.py computes {@code rope_freqs} for
     * {@code rope_type: llama3}: for each pair i, freq = 1/θ^(2i/d) and wavelength 2π/freq; wavelengths shorter than
     * originalContext/highFreqFactor keep factor 1, longer than originalContext/lowFreqFactor get {@code factor}, and
     * those between interpolate: smooth = (originalContext/wavelength − low)/(high − low), factor
     * 1/((1 − smooth)/factor + smooth). The converter does this in float32 torch arithmetic, where {@code a / tensor}
     * is {@code tensor.reciprocal() * a}; the steps here follow it so the factors match bit for bit.
     */
    public static float[] llama3RopeFactors(int headDim, float theta, ModelShape.Llama3Rope r) {
        float lowWavelen = (float) (r.originalContext() / (double) r.lowFreqFactor());
        float highWavelen = (float) (r.originalContext() / (double) r.highFreqFactor());
        float twoPi = (float) (2 * Math.PI);
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / headDim;
            float freq = (1.0f / (float) Math.pow(theta, exponent));
            float wavelen = (1.0f / freq) * twoPi;
            if (wavelen < highWavelen) {
                f[i] = 1;
            } else if (wavelen > lowWavelen) {
                f[i] = r.factor();
            } else {
                float smooth = ((1.0f / wavelen) * r.originalContext() - r.lowFreqFactor()) / (r.highFreqFactor() - r.lowFreqFactor());
                f[i] = 1.0f / ((1 - smooth) / r.factor() + smooth);
            }
        }
        return f;
    }
}
