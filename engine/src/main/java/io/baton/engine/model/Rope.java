package io.baton.engine.model;

/**
 * Rotary position embedding as GGML computes it ({@code ggml_rope_ext} with no YaRN extrapolation): for pair i of a
 * head, angle = pos · base^(-2i/ropeDim) / freqFactor[i], the power taken by repeated multiplication in float as
 * GGML's {@code rope_cache_init} does. Llama-3 models supply the factors through {@code rope_freqs.weight}.
 * Normal mode rotates (x[2i], x[2i+1]); NEOX mode rotates (x[i], x[i + ropeDim/2]). Dimensions past ropeDim pass through.
 */
final class Rope {
    private final int ropeDim;
    private final boolean neox;
    private final float thetaScale;
    private final float[] freqFactors;

    Rope(ModelConfig c, float[] freqFactors) {
        this.ropeDim = c.ropeDim();
        this.neox = c.architecture().neoxRope;
        this.thetaScale = (float) Math.pow(c.ropeTheta(), -2.0 / ropeDim);
        this.freqFactors = freqFactors;
    }

    /** cos and sin of every pair's angle at {@code pos}: {@code cs[2i] = cos, cs[2i+1] = sin}. */
    float[] angles(int pos) {
        float[] cs = new float[ropeDim];
        float theta = pos;
        for (int i = 0; i < ropeDim / 2; i++) {
            float t = freqFactors == null ? theta : theta / freqFactors[i];
            cs[2 * i] = (float) Math.cos(t);
            cs[2 * i + 1] = (float) Math.sin(t);
            theta *= thetaScale;
        }
        return cs;
    }

    /** Rotates {@code heads} heads of width {@code headDim} stored from {@code x[off]}. */
    void apply(float[] x, int off, int heads, int headDim, float[] cs) {
        int half = ropeDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = neox ? base + i : base + 2 * i;
                int b = neox ? base + i + half : base + 2 * i + 1;
                float c = cs[2 * i], s = cs[2 * i + 1];
                float x0 = x[a], x1 = x[b];
                x[a] = x0 * c - x1 * s;
                x[b] = x0 * s + x1 * c;
            }
        }
    }
}
