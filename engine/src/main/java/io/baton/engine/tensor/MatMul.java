package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;

/**
 * Matrix products of a weight matrix with a batch of activation rows: {@code out[t][r] = Σ_c W[r][c] · x[t][c]}
 * for {@code t < tokens}, with activations kept in float32 and weights dequantized exactly (see README, "Numerics").
 */
public final class MatMul {
    private MatMul() {}

    /**
     * @param x   {@code tokens} rows of {@code w.cols()} floats
     * @param out {@code tokens} rows of {@code w.rows()} floats
     */
    public static void matmul(Tensor w, float[] x, int tokens, float[] out, WorkerPool pool) {
        int rows = w.rows(), cols = w.cols();
        pool.forRange(rows, (from, to) -> {
            float[] row = new float[cols];
            for (int r = from; r < to; r++) {
                w.dequantizeRow(r, row, 0);
                for (int t = 0; t < tokens; t++) {
                    float s = 0;
                    int xo = t * cols;
                    for (int c = 0; c < cols; c++) s += row[c] * x[xo + c];
                    out[t * rows + r] = s;
                }
            }
        });
    }
}
