package io.baton.engine.synth;

import io.baton.engine.model.Architecture;

/**
 * The hyper-parameters of a real model, enough to write a GGUF of the same shape with llama.cpp's tensor names and
 * metadata keys. Values come from the model's {@code config.json} on Hugging Face (see {@link ModelShapes}).
 *
 * @param headDim        width of one attention head ({@code head_dim}, or hidden / heads)
 * @param vocabSize      the real model's vocabulary; a synthetic file takes its vocabulary size from the vocabulary
 *                       GGUF it copies the tokenizer from, which may differ
 * @param contextLength  {@code max_position_embeddings}, written as {@code <arch>.context_length}
 * @param tiedEmbeddings the output projection is the token embedding (no {@code output.weight})
 * @param llama3Rope     Llama 3.1/3.2 RoPE frequency scaling (written as the {@code rope_freqs.weight} tensor), or null
 */
public record ModelShape(String name, Architecture arch, int dim, int layers, int heads, int kvHeads, int headDim,
                         int ffnDim, int vocabSize, int contextLength, float ropeTheta, float rmsEps,
                         boolean tiedEmbeddings, Llama3Rope llama3Rope) {

    public ModelShape {
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || ffnDim <= 0 || vocabSize <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("shape " + name + " has a non-positive dimension");
        }
        if (heads % kvHeads != 0) throw new IllegalArgumentException("shape " + name + ": " + heads + " heads is not a multiple of " + kvHeads + " KV heads");
        if (headDim % 2 != 0) throw new IllegalArgumentException("shape " + name + ": head_dim " + headDim + " is odd");
    }

    /**
     * Llama 3 RoPE scaling ({@code rope_scaling} with {@code rope_type: llama3} in config.json).
     *
     * @param originalContext {@code original_max_position_embeddings}
     */
    public record Llama3Rope(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {}

    /** The same shape with another layer count (for quick tests and smoke runs). */
    public ModelShape withLayers(int n) {
        return new ModelShape(name, arch, dim, n, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength, ropeTheta, rmsEps, tiedEmbeddings, llama3Rope);
    }

    /** Width of all query heads together. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of all key (or value) heads together. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Weights of the transformer with a vocabulary of {@code vocab} tokens (embedding counted once when tied). */
    public long parameterCount(int vocab) {
        long perLayer = 2L * dim                                   // attention and FFN norms
                + (long) dim * qDim() + 2L * dim * kvDim()          // Q, K, V
                + (long) qDim() * dim                               // attention output
                + 3L * dim * ffnDim;                                // gate, up, down
        if (arch.qkvBias) perLayer += qDim() + 2L * kvDim();
        if (arch.qkNorm) perLayer += 2L * headDim;
        return (long) vocab * dim * (tiedEmbeddings ? 1 : 2) + dim + layers * perLayer;
    }
}
