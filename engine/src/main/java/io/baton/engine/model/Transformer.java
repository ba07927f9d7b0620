package io.baton.engine.model;

import io.baton.engine.parallel.WorkerPool;
import io.baton.engine.tensor.MatMul;

/**
 * The forward pass shared by the llama, qwen2 and qwen3 families (llama.cpp's {@code llm_build_llama},
 * {@code llm_build_qwen2}, {@code llm_build_qwen3}): pre-norm blocks of grouped-query attention with RoPE and a SwiGLU
 * MLP. A call takes a run of tokens of one sequence at once: projections and the MLP are matrix products over all of
 * them, attention is causal over the sequence's KV cache. Activations stay float32 throughout.
 */
public final class Transformer {
    private final ModelConfig c;
    private final ModelWeights w;
    private final WorkerPool pool;
    private final Rope rope;

    public Transformer(ModelConfig config, ModelWeights weights, WorkerPool pool) {
        this.c = config;
        this.w = weights;
        this.pool = pool;
        this.rope = new Rope(config, weights.ropeFreqs());
    }

    public ModelConfig config() {
        return c;
    }

    /**
     * Runs {@code tokens} at positions {@code cache.length() ..} and appends their K/V to {@code cache}.
     *
     * @param allLogits logits of every token (for tests and scoring) or only of the last
     * @return logits, {@code vocabSize} floats per returned position
     */
    public float[] forward(KvCache cache, int[] tokens, boolean allLogits) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens to run");
        int start = cache.length();
        cache.ensureCapacity(start + n);
        int dim = c.dim();

        float[] x = new float[n * dim];
        for (int t = 0; t < n; t++) {
            if (tokens[t] < 0 || tokens[t] >= c.vocabSize()) throw new IllegalArgumentException("token id " + tokens[t] + " outside the vocabulary of " + c.vocabSize());
            w.tokenEmbedding().dequantizeRow(tokens[t], x, t * dim);
        }
        float[][] angles = new float[n][];
        for (int t = 0; t < n; t++) angles[t] = rope.angles(start + t);

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
            MatMul.matmul(lw.wq(), xb, n, q, pool);
            MatMul.matmul(lw.wk(), xb, n, k, pool);
            MatMul.matmul(lw.wv(), xb, n, v, pool);
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
            }
            System.arraycopy(k, 0, cache.keys(l), start * c.kDim(), n * c.kDim());
            System.arraycopy(v, 0, cache.values(l), start * c.vDim(), n * c.vDim());
            attention(cache.keys(l), cache.values(l), q, att, start, n);
            MatMul.matmul(lw.wo(), att, n, proj, pool);
            for (int i = 0; i < n * dim; i++) x[i] += proj[i];

            rmsNorm(x, xb, lw.ffnNorm(), n, dim);
            MatMul.matmul(lw.wGate(), xb, n, gate, pool);
            MatMul.matmul(lw.wUp(), xb, n, up, pool);
            for (int i = 0; i < gate.length; i++) {
                float g = gate[i];
                gate[i] = g / (1.0f + (float) Math.exp(-g)) * up[i]; // SiLU(gate) * up, as ggml_silu_f32
            }
            MatMul.matmul(lw.wDown(), gate, n, proj, pool);
            for (int i = 0; i < n * dim; i++) x[i] += proj[i];
        }
        cache.setLength(start + n);

        int outRows = allLogits ? n : 1;
        int first = n - outRows;
        float[] last = new float[outRows * dim];
        System.arraycopy(x, first * dim, last, 0, outRows * dim);
        rmsNorm(last, last, w.outputNorm(), outRows, dim);
        float[] logits = new float[outRows * c.vocabSize()];
        MatMul.matmul(w.output(), last, outRows, logits, pool);
        return logits;
    }

    /**
     * Causal grouped-query attention for the {@code n} new tokens at positions {@code start ..}: query head h reads KV
     * head {@code h / (heads / kvHeads)}; scores scaled by 1/sqrt(headDim), softmax over positions {@code 0 .. pos}.
     */
    private void attention(float[] keys, float[] values, float[] q, float[] out, int start, int n) {
        int heads = c.heads(), hd = c.headDim(), vd = c.valueDim(), group = heads / c.kvHeads();
        int kDim = c.kDim(), vDim = c.vDim();
        float scale = (float) (1.0 / Math.sqrt(hd));
        pool.forRange(n * heads, (from, to) -> {
            float[] scores = new float[start + n];
            for (int job = from; job < to; job++) {
                int t = job / heads, h = job % heads, kvh = h / group;
                int pos = start + t;
                int qo = t * c.qDim() + h * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= pos; j++) {
                    int ko = j * kDim + kvh * hd;
                    float s = 0;
                    for (int d = 0; d < hd; d++) s += q[qo + d] * keys[ko + d];
                    s *= scale;
                    scores[j] = s;
                    if (s > max) max = s;
                }
                double sum = 0;
                for (int j = 0; j <= pos; j++) {
                    float e = (float) Math.exp(scores[j] - max);
                    scores[j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                int oo = (t * heads + h) * vd;
                java.util.Arrays.fill(out, oo, oo + vd, 0f);
                for (int j = 0; j <= pos; j++) {
                    float p = scores[j] * inv;
                    int vo = j * vDim + kvh * vd;
                    for (int d = 0; d < vd; d++) out[oo + d] += p * values[vo + d];
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
