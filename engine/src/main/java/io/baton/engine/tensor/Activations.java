package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.baton.engine.tensor.Vec.F;

/** The MLP's gated activation, vectorized. */
public final class Activations {
    private Activations() {}

    /**
     * {@code gate[i] = SiLU(gate[i]) * up[i]} for {@code i < n}, SwiGLU as GGML's {@code ggml_silu_f32} times the up
     * projection. The sigmoid is computed from {@code e = exp(-|g|)} (which never overflows): {@code 1 / (1 + e)} for
     * {@code g >= 0}, {@code e / (1 + e)} below, with {@link FastExp}'s exp; the vector lanes and the scalar tail
     * ({@link #siluMul(float, float)}) give bit-identical results. A scalar {@code Math.exp} per element cost ~6% of
     * a batch-16 decode step of qwen2.5-0.5b (16 × 4,864 per layer; JFR), this loop about a fourteenth of that
     * (370 µs against 27 µs for 16 × 4,864 elements on one core).
     */
    public static void siluMul(float[] gate, float[] up, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector e = FastExp.expNonPositive(g.abs().neg());
            FloatVector num = FloatVector.broadcast(F, 1f).blend(e, g.compare(VectorOperators.LT, 0f));
            g.mul(num.div(e.add(1f))).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) gate[i] = siluMul(gate[i], up[i]);
    }

    /** The scalar twin of {@link #siluMul(float[], float[], int)}'s lanes: {@code SiLU(g) * u}. */
    static float siluMul(float g, float u) {
        float e = FastExp.expNonPositive(-Math.abs(g));
        return g * ((g < 0 ? e : 1f) / (e + 1f)) * u;
    }

    /** The plain loop the kernel is tested against (what the engine ran before it). */
    public static void siluMulReference(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1.0f + (float) Math.exp(-g)) * up[i];
        }
    }
}
