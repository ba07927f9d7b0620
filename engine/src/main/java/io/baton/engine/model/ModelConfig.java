package io.baton.engine.model;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;

/**
 * The hyper-parameters of a model, read from GGUF metadata ({@code <arch>.*} keys, as llama.cpp's
 * {@code llm_load_hparams} reads them).
 *
 * @param headDim     width of one query/key head ({@code attention.key_length}, else dim / heads)
 * @param valueDim    width of one value head ({@code attention.value_length}, else headDim)
 * @param ropeDim     how many dimensions of each head RoPE rotates ({@code rope.dimension_count}, else headDim)
 * @param ropeTheta   RoPE base frequency ({@code rope.freq_base}, default 10000 as in llama.cpp)
 * @param contextLength the training context ({@code context_length}); the longest sequence the engine accepts
 */
public record ModelConfig(Architecture architecture, String name, int dim, int layers, int heads, int kvHeads,
                          int headDim, int valueDim, int ffnDim, int vocabSize, int contextLength, float rmsEps,
                          float ropeTheta, int ropeDim) {

    public ModelConfig {
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || ffnDim <= 0 || vocabSize <= 0) {
            throw new UnsupportedModelException("model has non-positive dimensions: " + this);
        }
        if (heads % kvHeads != 0) throw new UnsupportedModelException("head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        if (ropeDim > headDim || ropeDim % 2 != 0) throw new UnsupportedModelException("rope.dimension_count " + ropeDim + " does not fit head size " + headDim);
    }

    public static ModelConfig fromGguf(GgufFile g) {
        Architecture arch = Architecture.fromGguf(g.getString("general.architecture"));
        String p = arch.ggufName + ".";
        int dim = g.getInt(p + "embedding_length");
        int heads = g.getInt(p + "attention.head_count");
        int kvHeads = g.getInt(p + "attention.head_count_kv", heads);
        int headDim = g.getInt(p + "attention.key_length", dim / heads);
        int valueDim = g.getInt(p + "attention.value_length", headDim);
        GgufTensorInfo emb = g.tensorInfo("token_embd.weight");
        if (emb == null) throw new UnsupportedModelException("model has no token_embd.weight tensor");
        int vocab = Math.toIntExact(emb.dims()[1]);
        return new ModelConfig(arch, g.getString("general.name", arch.ggufName), dim, g.getInt(p + "block_count"), heads, kvHeads,
                headDim, valueDim, g.getInt(p + "feed_forward_length"), vocab, g.getInt(p + "context_length", 2048),
                g.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f), g.getFloat(p + "rope.freq_base", 10000f),
                g.getInt(p + "rope.dimension_count", headDim));
    }

    /** Width of all query heads together. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of all key heads together: one token's K row in the KV cache for one layer. */
    public int kDim() {
        return kvHeads * headDim;
    }

    /** Width of all value heads together. */
    public int vDim() {
        return kvHeads * valueDim;
    }
}
