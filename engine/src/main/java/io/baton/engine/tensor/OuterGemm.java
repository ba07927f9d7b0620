package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.L;

/**
 * The prefill micro-kernel in the outer-product form of BLAS libraries: a panel of {@link #MR} weight rows stored
 * column by column ({@code p[k * MR + i]} = row i, column k), so one vector load gives one column of {@code L} rows;
 * each token's activation at that column is broadcast and multiplied into that token's accumulators. A step of k does
 * 2 vector loads, {@link #NR} broadcasts and {@code 2 * NR} fused multiply-adds, with no horizontal sum at the end:
 * 12 accumulators hide the FMA latency on two FMA pipes, and 15 live vectors fit AVX2's 16 registers.
 *
 * <p>Result for (token t, panel row i) goes to {@code out[oo + t * os + i]}, rows {@code i < nr} and tokens {@code
 * t < nt} only; with {@code add} it is added to what {@code out} holds (a later slice of the columns).
 */
final class OuterGemm {
    private OuterGemm() {}

    /** Rows per panel: two vectors. */
    static final int MR = 2 * L;
    /** Tokens per tile. */
    static final int NR = 6;

    static void tile(float[] p, int kc, float[] x, int xo, int xs, int nt, float[] out, int oo, int os, int nr,
                     boolean add, float[] spill) {
        int x0 = xo, x1 = xo + Math.min(1, nt - 1) * xs, x2 = xo + Math.min(2, nt - 1) * xs;
        int x3 = xo + Math.min(3, nt - 1) * xs, x4 = xo + Math.min(4, nt - 1) * xs, x5 = xo + Math.min(5, nt - 1) * xs;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, p, k * MR), w1 = FloatVector.fromArray(F, p, k * MR + L);
            FloatVector v = FloatVector.broadcast(F, x[x0 + k]);
            a0 = w0.fma(v, a0); b0 = w1.fma(v, b0);
            v = FloatVector.broadcast(F, x[x1 + k]);
            a1 = w0.fma(v, a1); b1 = w1.fma(v, b1);
            v = FloatVector.broadcast(F, x[x2 + k]);
            a2 = w0.fma(v, a2); b2 = w1.fma(v, b2);
            v = FloatVector.broadcast(F, x[x3 + k]);
            a3 = w0.fma(v, a3); b3 = w1.fma(v, b3);
            v = FloatVector.broadcast(F, x[x4 + k]);
            a4 = w0.fma(v, a4); b4 = w1.fma(v, b4);
            v = FloatVector.broadcast(F, x[x5 + k]);
            a5 = w0.fma(v, a5); b5 = w1.fma(v, b5);
        }
        store(a0, b0, out, oo, nr, add, spill);
        if (nt > 1) store(a1, b1, out, oo + os, nr, add, spill);
        if (nt > 2) store(a2, b2, out, oo + 2 * os, nr, add, spill);
        if (nt > 3) store(a3, b3, out, oo + 3 * os, nr, add, spill);
        if (nt > 4) store(a4, b4, out, oo + 4 * os, nr, add, spill);
        if (nt > 5) store(a5, b5, out, oo + 5 * os, nr, add, spill);
    }

    private static void store(FloatVector a, FloatVector b, float[] out, int o, int nr, boolean add, float[] spill) {
        if (nr == MR) {
            if (add) {
                a = a.add(FloatVector.fromArray(F, out, o));
                b = b.add(FloatVector.fromArray(F, out, o + L));
            }
            a.intoArray(out, o);
            b.intoArray(out, o + L);
            return;
        }
        a.intoArray(spill, 0);
        b.intoArray(spill, L);
        if (add) {
            for (int i = 0; i < nr; i++) out[o + i] += spill[i];
        } else {
            System.arraycopy(spill, 0, out, o, nr);
        }
    }
}
