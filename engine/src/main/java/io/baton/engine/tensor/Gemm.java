package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.L;

/**
 * float32 register tiles for the tile path of {@link MatMul} (batched decode, short prefill chunks): 4 weight rows
 * against 4 ({@link #FOUR_TOKENS}), 3 or 1 tokens. Each weight vector is loaded once per step and used for every token of the tile, and each
 * token vector once for all 4 rows, so a step does 12 fused multiply-adds for 7 loads; the accumulators are reduced
 * to scalars at the end of the tile.
 *
 * <p>Both operands are packed, as BLAS libraries pack their micro-panels, so that a tile reads two sequential streams
 * instead of seven: the panel holds vector {@code j} (columns {@code j·L ..}) of row {@code r} at {@code p[(j·4 + r)·L]}
 * ({@link #packPanelRow}), and a group of {@code n} tokens (3, or 1 for the last ones) holds vector {@code j} of its
 * token {@code i} at {@code x[xo + (j·n + i)·L]} ({@link #packTokens}). With the seven rows of the plain layout, the
 * 16 token rows of a batch-16 step (57 KB at 896 columns) came from L2 on separate streams. Packed, dequantization
 * and 4x3 tiles together (a probe, one thread, operands in cache, each variant in its own JVM, alternating) ran 16
 * tokens at 105-137 GFLOP/s against 95-113 (2 of 3 pairs faster), 64 tokens at 124-158 against 113-144 (3 of 3). A
 * partial last vector is padded with zeros in both, so the tiles have no scalar tail.
 *
 * <p>Result for (token t, row r) goes to {@code out[oo + t·os + r]}, rows {@code r < nr} only (a panel of the last
 * rows of a matrix is padded with zero rows); with {@code add} it is added to what {@code out} holds (a later slice
 * of the columns).
 */
final class Gemm {
    private Gemm() {}

    /** Vectors per packed row of {@code n} columns: the last one padded with zeros. */
    static int vectors(int n) {
        return (n + L - 1) / L;
    }

    /**
     * Row {@code r} (0..3) of a panel, from {@code n} floats at {@code row[0 ..]}, into its packed place in {@code p};
     * {@code row} must hold {@code vectors(n) · L} floats (its tail is overwritten with zeros).
     */
    static void packPanelRow(float[] row, int n, float[] p, int r) {
        int v = vectors(n);
        java.util.Arrays.fill(row, n, v * L, 0f);
        for (int j = 0; j < v; j++) FloatVector.fromArray(F, row, j * L).intoArray(p, (j * 4 + r) * L);
    }

    /** Zeros for row {@code r} of a panel of {@code n} columns (a matrix whose rows do not fill the last panel). */
    static void zeroPanelRow(float[] p, int r, int n) {
        FloatVector z = FloatVector.zero(F);
        for (int j = 0; j < vectors(n); j++) z.intoArray(p, (j * 4 + r) * L);
    }

    /**
     * Columns {@code [k0, k0 + n)} of the {@code count} tokens from {@code t0} ({@code x} rows of {@code cols} floats)
     * into {@code dst[d ..]}, packed as {@code [vector][token][L]}; {@code count · vectors(n) · L} floats.
     */
    static void packTokens(float[] x, int cols, int t0, int count, int k0, int n, float[] dst, int d) {
        int full = n / L, v = vectors(n);
        for (int j = 0; j < v; j++) {
            for (int i = 0; i < count; i++) {
                int src = (t0 + i) * cols + k0 + j * L, o = d + (j * count + i) * L;
                if (j < full) {
                    FloatVector.fromArray(F, x, src).intoArray(dst, o);
                } else {
                    int tail = n - j * L;
                    System.arraycopy(x, src, dst, o, tail);
                    java.util.Arrays.fill(dst, o + tail, o + L, 0f);
                }
            }
        }
    }

    /**
     * All {@code cols} columns of {@code tokens} tokens into {@code dst}, slice by slice of {@code slice} columns (a
     * multiple of {@code L}, or all columns): the slice that starts at column {@code k0} begins at {@code tokens · k0},
     * and within it the group ({@link #group}) that starts at token {@code t} at {@code t · vectors(kn) · L}, as
     * {@link #packTokens} lays it out; {@code tokens · vectors(cols) · L} floats in all.
     */
    static void packSlices(float[] x, int cols, int tokens, int slice, float[] dst) {
        for (int k0 = 0; k0 < cols; k0 += slice) {
            int kn = Math.min(slice, cols - k0), v = vectors(kn);
            for (int t = 0, g; t < tokens; t += g) {
                g = group(tokens, t);
                packTokens(x, cols, t, g, k0, kn, dst, tokens * k0 + t * v * L);
            }
        }
    }

    /** A panel of {@code v} vectors per row times the 3 tokens packed at {@code x[xo ..]}. */
    static void tile4x3(float[] p, int v, float[] x, int xo, float[] out, int oo, int os, int nr, boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        int pi = 0, xi = xo;
        for (int j = 0; j < v; j++, pi += 4 * L, xi += 3 * L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xi);
            FloatVector v1 = FloatVector.fromArray(F, x, xi + L);
            FloatVector v2 = FloatVector.fromArray(F, x, xi + 2 * L);
            FloatVector w = FloatVector.fromArray(F, p, pi);
            c00 = w.fma(v0, c00); c01 = w.fma(v1, c01); c02 = w.fma(v2, c02);
            w = FloatVector.fromArray(F, p, pi + L);
            c10 = w.fma(v0, c10); c11 = w.fma(v1, c11); c12 = w.fma(v2, c12);
            w = FloatVector.fromArray(F, p, pi + 2 * L);
            c20 = w.fma(v0, c20); c21 = w.fma(v1, c21); c22 = w.fma(v2, c22);
            w = FloatVector.fromArray(F, p, pi + 3 * L);
            c30 = w.fma(v0, c30); c31 = w.fma(v1, c31); c32 = w.fma(v2, c32);
        }
        store(out, oo, nr, add, c00, c10, c20, c30);
        store(out, oo + os, nr, add, c01, c11, c21, c31);
        store(out, oo + 2 * os, nr, add, c02, c12, c22, c32);
    }

    /**
     * A panel of {@code v} vectors per row times the 4 tokens packed at {@code x[xo ..]}: 16 accumulators, 8 loads per
     * 16 multiply-adds. For 512-bit vectors only ({@link #FOUR_TOKENS}): with AVX2's 16 registers it would spill.
     */
    static void tile4x4(float[] p, int v, float[] x, int xo, float[] out, int oo, int os, int nr, boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int pi = 0, xi = xo;
        for (int j = 0; j < v; j++, pi += 4 * L, xi += 4 * L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xi);
            FloatVector v1 = FloatVector.fromArray(F, x, xi + L);
            FloatVector v2 = FloatVector.fromArray(F, x, xi + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, x, xi + 3 * L);
            FloatVector w = FloatVector.fromArray(F, p, pi);
            c00 = w.fma(v0, c00); c01 = w.fma(v1, c01); c02 = w.fma(v2, c02); c03 = w.fma(v3, c03);
            w = FloatVector.fromArray(F, p, pi + L);
            c10 = w.fma(v0, c10); c11 = w.fma(v1, c11); c12 = w.fma(v2, c12); c13 = w.fma(v3, c13);
            w = FloatVector.fromArray(F, p, pi + 2 * L);
            c20 = w.fma(v0, c20); c21 = w.fma(v1, c21); c22 = w.fma(v2, c22); c23 = w.fma(v3, c23);
            w = FloatVector.fromArray(F, p, pi + 3 * L);
            c30 = w.fma(v0, c30); c31 = w.fma(v1, c31); c32 = w.fma(v2, c32); c33 = w.fma(v3, c33);
        }
        store(out, oo, nr, add, c00, c10, c20, c30);
        store(out, oo + os, nr, add, c01, c11, c21, c31);
        store(out, oo + 2 * os, nr, add, c02, c12, c22, c32);
        store(out, oo + 3 * os, nr, add, c03, c13, c23, c33);
    }

    /**
     * Tokens in the group that starts at token {@code t} of {@code tokens}: 4 while 4 remain ({@link #FOUR_TOKENS}),
     * then 3 while 3 remain, then 1. Packing and tiles both follow it, so a group is packed as its tile reads it.
     */
    static int group(int tokens, int t) {
        int left = tokens - t;
        if (FOUR_TOKENS && left >= 4) return 4;
        return left >= 3 ? 3 : 1;
    }

    /**
     * Whether {@link MatMul} groups tokens by 4 ({@link #tile4x4}) before groups of 3: with 512-bit vectors. A batch
     * of 16 then runs four 4x4 tiles instead of five 4x3 tiles and a 4x1 (whose four accumulators leave the FMA pipes
     * half idle on their latency) and passes over each panel 4 times instead of 6. Engine, qwen2.5-0.5b Q8_0, 2
     * threads, five alternating pairs: batch 16 110 -> 143 tok/s, batch 64 174 -> 194 (new ahead in every pair).
     * {@code -Dbaton.tile3=true} turns it off, for such comparisons.
     */
    static final boolean FOUR_TOKENS = L == 16 && !Boolean.getBoolean("baton.tile3");

    /** A panel of {@code v} vectors per row times the one token packed at {@code x[xo ..]}. */
    static void tile4x1(float[] p, int v, float[] x, int xo, float[] out, int oo, int nr, boolean add) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int pi = 0, xi = xo;
        for (int j = 0; j < v; j++, pi += 4 * L, xi += L) {
            FloatVector t = FloatVector.fromArray(F, x, xi);
            c0 = FloatVector.fromArray(F, p, pi).fma(t, c0);
            c1 = FloatVector.fromArray(F, p, pi + L).fma(t, c1);
            c2 = FloatVector.fromArray(F, p, pi + 2 * L).fma(t, c2);
            c3 = FloatVector.fromArray(F, p, pi + 3 * L).fma(t, c3);
        }
        store(out, oo, nr, add, c0, c1, c2, c3);
    }

    private static void store(float[] out, int o, int nr, boolean add, FloatVector a, FloatVector b, FloatVector c,
                              FloatVector d) {
        float s0 = a.reduceLanes(VectorOperators.ADD), s1 = b.reduceLanes(VectorOperators.ADD);
        float s2 = c.reduceLanes(VectorOperators.ADD), s3 = d.reduceLanes(VectorOperators.ADD);
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
