package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.L;

/**
 * float32 register tiles for prefill: 4 weight rows (a dequantized panel) against 3 or 1 activation rows. Each panel
 * row is loaded once per step and used for every token of the tile, and each token row once for all 4 weight rows, so
 * a step does 12 fused multiply-adds for 7 loads. The accumulators are reduced to scalars at the end of the tile.
 *
 * <p>Layouts: panel row {@code r} at {@code p[r * kc ..]}, token {@code t} at {@code x[xo + t * xs ..]}, result for
 * (token t, row r) at {@code out[oo + t * os + r]}; only rows {@code r < nr} are written (the panel of the last rows of
 * a matrix is padded with zeros). With {@code add} the result is added to what {@code out} holds (a later slice of
 * the columns).
 */
final class Gemm {
    private Gemm() {}

    static void tile4x3(float[] p, int kc, float[] x, int xo, int xs, float[] out, int oo, int os, int nr, boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        int p1 = kc, p2 = 2 * kc, p3 = 3 * kc;
        int x1 = xo + xs, x2 = xo + 2 * xs;
        int kv = kc - kc % L, k = 0;
        for (; k < kv; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xo + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector w = FloatVector.fromArray(F, p, k);
            c00 = w.fma(v0, c00); c01 = w.fma(v1, c01); c02 = w.fma(v2, c02);
            w = FloatVector.fromArray(F, p, p1 + k);
            c10 = w.fma(v0, c10); c11 = w.fma(v1, c11); c12 = w.fma(v2, c12);
            w = FloatVector.fromArray(F, p, p2 + k);
            c20 = w.fma(v0, c20); c21 = w.fma(v1, c21); c22 = w.fma(v2, c22);
            w = FloatVector.fromArray(F, p, p3 + k);
            c30 = w.fma(v0, c30); c31 = w.fma(v1, c31); c32 = w.fma(v2, c32);
        }
        float s00 = c00.reduceLanes(VectorOperators.ADD), s01 = c01.reduceLanes(VectorOperators.ADD), s02 = c02.reduceLanes(VectorOperators.ADD);
        float s10 = c10.reduceLanes(VectorOperators.ADD), s11 = c11.reduceLanes(VectorOperators.ADD), s12 = c12.reduceLanes(VectorOperators.ADD);
        float s20 = c20.reduceLanes(VectorOperators.ADD), s21 = c21.reduceLanes(VectorOperators.ADD), s22 = c22.reduceLanes(VectorOperators.ADD);
        float s30 = c30.reduceLanes(VectorOperators.ADD), s31 = c31.reduceLanes(VectorOperators.ADD), s32 = c32.reduceLanes(VectorOperators.ADD);
        for (; k < kc; k++) {
            float v0 = x[xo + k], v1 = x[x1 + k], v2 = x[x2 + k];
            float w0 = p[k], w1 = p[p1 + k], w2 = p[p2 + k], w3 = p[p3 + k];
            s00 += w0 * v0; s01 += w0 * v1; s02 += w0 * v2;
            s10 += w1 * v0; s11 += w1 * v1; s12 += w1 * v2;
            s20 += w2 * v0; s21 += w2 * v1; s22 += w2 * v2;
            s30 += w3 * v0; s31 += w3 * v1; s32 += w3 * v2;
        }
        store(out, oo, nr, add, s00, s10, s20, s30);
        store(out, oo + os, nr, add, s01, s11, s21, s31);
        store(out, oo + 2 * os, nr, add, s02, s12, s22, s32);
    }

    static void tile4x1(float[] p, int kc, float[] x, int xo, float[] out, int oo, int nr, boolean add) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int p1 = kc, p2 = 2 * kc, p3 = 3 * kc;
        int kv = kc - kc % L, k = 0;
        for (; k < kv; k += L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + k);
            c0 = FloatVector.fromArray(F, p, k).fma(v, c0);
            c1 = FloatVector.fromArray(F, p, p1 + k).fma(v, c1);
            c2 = FloatVector.fromArray(F, p, p2 + k).fma(v, c2);
            c3 = FloatVector.fromArray(F, p, p3 + k).fma(v, c3);
        }
        float s0 = c0.reduceLanes(VectorOperators.ADD), s1 = c1.reduceLanes(VectorOperators.ADD);
        float s2 = c2.reduceLanes(VectorOperators.ADD), s3 = c3.reduceLanes(VectorOperators.ADD);
        for (; k < kc; k++) {
            float v = x[xo + k];
            s0 += p[k] * v; s1 += p[p1 + k] * v; s2 += p[p2 + k] * v; s3 += p[p3 + k] * v;
        }
        store(out, oo, nr, add, s0, s1, s2, s3);
    }

    private static void store(float[] out, int o, int nr, boolean add, float s0, float s1, float s2, float s3) {
        if (add) {
            out[o] += s0;
            if (nr > 1) out[o + 1] += s1;
            if (nr > 2) out[o + 2] += s2;
            if (nr > 3) out[o + 3] += s3;
        } else {
            out[o] = s0;
            if (nr > 1) out[o + 1] = s1;
            if (nr > 2) out[o + 2] = s2;
            if (nr > 3) out[o + 3] = s3;
        }
    }
}
