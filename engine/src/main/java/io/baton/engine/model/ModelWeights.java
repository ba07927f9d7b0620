package io.baton.engine.model;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufTensorInfo;
import io.baton.engine.tensor.Tensor;

import java.util.Arrays;

/**
 * All weights of a model, with tensor names as llama.cpp's GGUF converter writes them ({@code blk.N.attn_q.weight} …).
 * Matrices stay in the memory-mapped file; shapes and types are checked here once so that the forward pass can trust
 * them.
 *
 * @param output     the output projection: {@code output.weight}, or the embedding when tied
 * @param ropeFreqs  Llama-3 RoPE frequency divisors ({@code rope_freqs.weight}), or null
 */
public record ModelWeights(Tensor tokenEmbedding, LayerWeights[] layers, float[] outputNorm, Tensor output, float[] ropeFreqs) {

    public static ModelWeights load(GgufFile g, ModelConfig c) {
        Loader l = new Loader(g);
        Tensor emb = l.matrix("token_embd.weight", c.dim(), c.vocabSize());
        LayerWeights[] layers = new LayerWeights[c.layers()];
        Architecture a = c.architecture();
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers[i] = new LayerWeights(
                    l.vector(p + "attn_norm.weight", c.dim()),
                    l.matrix(p + "attn_q.weight", c.dim(), c.qDim()),
                    l.matrix(p + "attn_k.weight", c.dim(), c.kDim()),
                    l.matrix(p + "attn_v.weight", c.dim(), c.vDim()),
                    l.matrix(p + "attn_output.weight", c.heads() * c.valueDim(), c.dim()),
                    a.qkvBias ? l.vector(p + "attn_q.bias", c.qDim()) : l.optionalVector(p + "attn_q.bias", c.qDim()),
                    a.qkvBias ? l.vector(p + "attn_k.bias", c.kDim()) : l.optionalVector(p + "attn_k.bias", c.kDim()),
                    a.qkvBias ? l.vector(p + "attn_v.bias", c.vDim()) : l.optionalVector(p + "attn_v.bias", c.vDim()),
                    a.qkNorm ? l.vector(p + "attn_q_norm.weight", c.headDim()) : null,
                    a.qkNorm ? l.vector(p + "attn_k_norm.weight", c.headDim()) : null,
                    l.vector(p + "ffn_norm.weight", c.dim()),
                    l.matrix(p + "ffn_gate.weight", c.dim(), c.ffnDim()),
                    l.matrix(p + "ffn_up.weight", c.dim(), c.ffnDim()),
                    l.matrix(p + "ffn_down.weight", c.ffnDim(), c.dim()));
        }
        float[] outNorm = l.vector("output_norm.weight", c.dim());
        Tensor output = g.tensorInfo("output.weight") != null ? l.matrix("output.weight", c.dim(), c.vocabSize()) : emb;
        float[] ropeFreqs = l.optionalVector("rope_freqs.weight", c.ropeDim() / 2);
        return new ModelWeights(emb, layers, outNorm, output, ropeFreqs);
    }

    private record Loader(GgufFile g) {
        GgufTensorInfo info(String name) {
            GgufTensorInfo t = g.tensorInfo(name);
            if (t == null) throw new UnsupportedModelException("model is missing tensor " + name);
            if (!t.type().supported) {
                throw new UnsupportedModelException("tensor " + name + " has unsupported tensor type " + t.type()
                        + " (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
            }
            return t;
        }

        Tensor matrix(String name, long cols, long rows) {
            GgufTensorInfo t = info(name);
            long[] want = {cols, rows};
            if (!Arrays.equals(t.dims(), want)) {
                throw new UnsupportedModelException("tensor " + name + " has shape " + t.shape() + ", expected " + Arrays.toString(want));
            }
            return new Tensor(name, t.type(), t.dims(), g.tensorData(t));
        }

        float[] vector(String name, long n) {
            GgufTensorInfo t = info(name);
            if (t.elementCount() != n) throw new UnsupportedModelException("tensor " + name + " has shape " + t.shape() + ", expected [" + n + "]");
            return new Tensor(name, t.type(), new long[] {n, 1}, g.tensorData(t)).toFloats();
        }

        float[] optionalVector(String name, long n) {
            return g.tensorInfo(name) == null ? null : vector(name, n);
        }
    }

    /**
     * The matrices one decode step reads in full: every layer's projections and the output matrix (the embedding
     * table is only looked up, one row per token, unless it is also the output matrix).
     */
    public java.util.List<Tensor> decodeMatrices() {
        java.util.List<Tensor> m = new java.util.ArrayList<>();
        for (LayerWeights l : layers) m.addAll(java.util.List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()));
        m.add(output);
        return m;
    }
}
