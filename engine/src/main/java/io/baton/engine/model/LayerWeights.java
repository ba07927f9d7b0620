package io.baton.engine.model;

import io.baton.engine.tensor.Tensor;

/** One transformer block's weights. Norm weights and biases are small and kept as floats; null where absent. */
public record LayerWeights(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                           float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                           float[] ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown) {
}
