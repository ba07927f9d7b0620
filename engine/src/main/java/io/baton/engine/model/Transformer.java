package io.baton.engine.model;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.parallel.WorkerPool;
import io.baton.engine.sampling.SamplingKernels;
import io.baton.engine.tensor.Activations;
import io.baton.engine.tensor.MatMul;
import io.baton.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The forward pass shared by the llama, qwen2 and qwen3 families (llama.cpp's {@code llm_build_llama},
 * {@code llm_build_qwen2}, {@code llm_build_qwen3}): pre-norm blocks of grouped-query attention with RoPE and a SwiGLU
 * MLP. One call runs one step of a ragged batch (prompt chunks and decode tokens of many sequences); the KV cache is
 * paged ({@link KvStorage} blocks addressed through each sequence's {@link BlockTable}). Activations stay float32.
 */
public final class Transformer {
    private final ModelConfig c;
    private final ModelWeights w;
    private final WorkerPool pool;
    private final Rope rope;

    /**
     * Told when a layer's K/V rows of the current step are in the KV storage (before that layer's attention runs), so
     * the KV transfer can stream layer L while the later layers compute. Called on the forward's thread; it must be
     * quick (hand work to another thread) and must not write the KV storage.
     */
    @FunctionalInterface
    public interface LayerListener {
        LayerListener NONE = layer -> { };

        void layerDone(int layer);
    }

    public Transformer(ModelConfig config, ModelWeights weights, WorkerPool pool) {
        this.c = config;
        this.w = weights;
        this.pool = pool;
        this.rope = new Rope(config, weights.ropeFreqs());
    }

    public ModelWeights weights() {
        return w;
    }

    /** The threads this transformer computes on. */
    public WorkerPool pool() {
        return pool;
    }

    public ModelConfig config() {
        return c;
    }

    /**
     * Runs one step over a ragged batch: every chunk's tokens go through the projections and the MLP together (one
     * matrix product per weight for the whole step); attention runs per token over its own sequence's blocks. The new
     * K/V rows are written into {@code kv} at the chunks' block tables before attention reads them.
     *
     * @return logits, {@code vocabSize} floats per requested row, chunk by chunk in batch order
     */
    public float[] forward(List<SequenceChunk> batch, KvStorage kv) {
        return forward(batch, kv, LayerListener.NONE);
    }

    /** {@link #forward(List, KvStorage)}, telling {@code listener} as each layer's K/V rows are stored. */
    public float[] forward(List<SequenceChunk> batch, KvStorage kv, LayerListener listener) {
        int n = 0, outRows = 0;
        for (SequenceChunk ch : batch) {
            if (ch.end() > c.contextLength()) throw new ContextOverflowException(ch.end(), c.contextLength());
            n += ch.tokens().length;
            outRows += ch.logitsRows();
        }
        if (n == 0) throw new IllegalArgumentException("no tokens to run");
        int dim = c.dim();

        // Per token of the step: its chunk and its position.
        int[] chunkOf = new int[n], posOf = new int[n];
        float[] x = new float[n * dim];
        for (int ci = 0, t = 0; ci < batch.size(); ci++) {
            SequenceChunk ch = batch.get(ci);
            for (int i = 0; i < ch.tokens().length; i++, t++) {
                int tok = ch.tokens()[i];
                if (tok < 0 || tok >= c.vocabSize()) throw new IllegalArgumentException("token id " + tok + " outside the vocabulary of " + c.vocabSize());
                chunkOf[t] = ci;
                posOf[t] = ch.start() + i;
                w.tokenEmbedding().dequantizeRow(tok, x, t * dim);
            }
        }
        float[][] angles = new float[n][];
        for (int t = 0; t < n; t++) angles[t] = rope.angles(posOf[t]);

        float[] xb = new float[n * dim];
        float[] q = new float[n * c.qDim()];
        float[] k = new float[n * c.kDim()];
        float[] v = new float[n * c.vDim()];
        float[] att = new float[n * c.heads() * c.valueDim()];
        float[] proj = new float[n * dim];
        float[] gate = new float[n * c.ffnDim()];
        float[] up = new float[n * c.ffnDim()];

        for (int l = 0; l < c.layers(); l++) {
            LayerWeights lw = w.layers()[l];
            rmsNorm(x, xb, lw.attnNorm(), n, dim);
            MatMul.matmul(new Tensor[] {lw.wq(), lw.wk(), lw.wv()}, xb, n, new float[][] {q, k, v}, pool);
            addBias(q, lw.bq(), n);
            addBias(k, lw.bk(), n);
            addBias(v, lw.bv(), n);
            if (lw.qNorm() != null) {
                rmsNorm(q, q, lw.qNorm(), n * c.heads(), c.headDim());
                rmsNorm(k, k, lw.kNorm(), n * c.kvHeads(), c.headDim());
            }
            for (int t = 0; t < n; t++) {
                rope.apply(q, t * c.qDim(), c.heads(), c.headDim(), angles[t]);
                rope.apply(k, t * c.kDim(), c.kvHeads(), c.headDim(), angles[t]);
                BlockTable table = batch.get(chunkOf[t]).table();
                kv.write(l, table.blockOf(posOf[t]), table.slotOf(posOf[t]), k, t * c.kDim(), v, t * c.vDim());
            }
            listener.layerDone(l);
            attention(l, batch, kv, chunkOf, posOf, q, att, n);
            MatMul.matmul(lw.wo(), att, n, proj, pool);
            for (int i = 0; i < n * dim; i++) x[i] += proj[i];

            rmsNorm(x, xb, lw.ffnNorm(), n, dim);
            MatMul.matmul(new Tensor[] {lw.wGate(), lw.wUp()}, xb, n, new float[][] {gate, up}, pool);
            Activations.siluMul(gate, up, gate.length);
            MatMul.matmul(lw.wDown(), gate, n, proj, pool);
            for (int i = 0; i < n * dim; i++) x[i] += proj[i];
        }

        // Final norm and output projection only for the rows someone wants.
        float[] last = new float[outRows * dim];
        for (int ci = 0, t = 0, r = 0; ci < batch.size(); ci++) {
            SequenceChunk ch = batch.get(ci);
            int from = t + ch.logitsFrom(), rows = ch.logitsRows();
            System.arraycopy(x, from * dim, last, r * dim, rows * dim);
            r += rows;
            t += ch.tokens().length;
        }
        if (outRows == 0) return new float[0];
        rmsNorm(last, last, w.outputNorm(), outRows, dim);
        float[] logits = new float[outRows * c.vocabSize()];
        MatMul.matmul(w.output(), last, outRows, logits, pool);
        return logits;
    }

    /**
     * Causal grouped-query attention for every token of the step: query head h reads KV head
     * {@code h / (heads / kvHeads)} of its own sequence at positions {@code 0 .. pos}; scores scaled by 1/sqrt(headDim),
     * softmax with the maximum subtracted and the sum in double (as GGML's soft_max).
     */
    private void attention(int layer, List<SequenceChunk> batch, KvStorage kv, int[] chunkOf, int[] posOf, float[] q, float[] out, int n) {
        int heads = c.heads(), hd = c.headDim(), vd = c.valueDim(), group = heads / c.kvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int maxPos = 0;
        for (int t = 0; t < n; t++) maxPos = Math.max(maxPos, posOf[t]);
        int scoreLen = maxPos + 1;
        pool.forRange(n * heads, (from, to) -> {
            float[] scores = new float[scoreLen];
            for (int job = from; job < to; job++) {
                int t = job / heads, h = job % heads, kvh = h / group;
                int pos = posOf[t];
                BlockTable table = batch.get(chunkOf[t]).table();
                int qo = t * c.qDim() + h * hd;
                int len = pos + 1, bs = table.blockSize();
                for (int b = 0; b * bs < len; b++) {
                    kv.dotKBlock(layer, table.blockId(b), Math.min(bs, len - b * bs), kvh, q, qo, scores, b * bs);
                }
                SamplingKernels.softmaxInPlace(scores, len, scale);
                int oo = (t * heads + h) * vd;
                Arrays.fill(out, oo, oo + vd, 0f);
                for (int b = 0; b * bs < len; b++) {
                    kv.addScaledVBlock(layer, table.blockId(b), Math.min(bs, len - b * bs), kvh, scores, b * bs, out, oo);
                }
            }
        });
    }

    /**
     * RMSNorm of {@code rows} rows of width {@code width} times the weight, as GGML's {@code ggml_compute_forward_rms_norm}:
     * sum of squares in double, mean in float, scale = 1/sqrtf(mean + eps).
     */
    private void rmsNorm(float[] in, float[] out, float[] weight, int rows, int width) {
        float eps = c.rmsEps();
        for (int r = 0; r < rows; r++) {
            int o = r * width;
            double ss = 0;
            for (int i = 0; i < width; i++) ss += (double) in[o + i] * in[o + i];
            float mean = (float) (ss / width);
            float scale = 1.0f / (float) Math.sqrt(mean + eps);
            for (int i = 0; i < width; i++) out[o + i] = in[o + i] * scale * weight[i];
        }
    }

    private static void addBias(float[] x, float[] bias, int rows) {
        if (bias == null) return;
        int w = bias.length;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < w; i++) x[r * w + i] += bias[i];
        }
    }
}
