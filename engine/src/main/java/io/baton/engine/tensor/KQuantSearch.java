package io.baton.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The scale searches of the K-quantizers ({@link Quantize#makeQkx2Quants}, {@link Quantize#makeQxQuants}) run on
 * eight groups at once, one group per vector lane. Each lane does exactly the reference's float operations in the
 * reference's order (multiplies and adds are never fused, sums are never reordered, {@code nearest_int} is the same
 * bit trick), so the bytes are the reference's: QuantizeTest compares the two on random groups. The reference is
 * bound by the latency of its running sums; eight independent lanes are not. Measured on the 2-core dev machine
 * (whole quantizer, one thread): Q4_K 101 → 19 ns per value, Q6_K 71 → 19 ns.
 *
 * <p>Groups are transposed into lane order first ({@code xt[i·8 + g]} is value i of group g). One instance per
 * thread: it holds scratch arrays.
 */
final class KQuantSearch {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    /** Groups per call: the lanes of a 256-bit vector. */
    static final int LANES = 8;

    private final float[] xt = new float[LANES * 32];
    private final float[] wt = new float[LANES * 32];
    private final float[] lt = new float[LANES * 32];
    private final float[] lauxt = new float[LANES * 32];

    /** 1.5·2^23: adding it to a float below 2^22 in magnitude rounds it to an integer, ties to even. */
    private static final float ROUNDER = 12582912.f;

    /**
     * nearest_int in ggml-quants.c, clamped to [lo, hi], kept as a float (levels are small integers, exact in float):
     * the same rounding trick, the rounded value read back by subtracting the constant instead of from the bits.
     */
    private static FloatVector nearestInt(FloatVector v, float lo, float hi) {
        return v.add(ROUNDER).sub(ROUNDER).max(lo).min(hi);
    }

    /**
     * make_qkx2_quants with squared error ({@code use_mad} false, as quantize_row_q4_K_ref calls it) on the 8
     * groups of 32 at {@code x[xo ..]}, weights {@code weights[0 .. 256)}: group g's levels go to
     * {@code L[32·g ..]}, its scale to {@code scales[g]} and its (positive) min to {@code mins[g]}.
     */
    void qkx2(int nmax, float[] x, int xo, float[] weights, int[] L, float[] scales, float[] mins, float rmin, float rdelta, int nstep) {
        final int n = 32;
        for (int g = 0; g < LANES; g++) {
            for (int i = 0; i < n; i++) {
                xt[i * LANES + g] = x[xo + g * n + i];
                wt[i * LANES + g] = weights[g * n + i];
            }
        }
        FloatVector zero = FloatVector.zero(F);
        FloatVector x0 = FloatVector.fromArray(F, xt, 0);
        FloatVector min = x0, max = x0;
        FloatVector sumW = FloatVector.fromArray(F, wt, 0);
        FloatVector sumX = sumW.mul(x0);
        for (int i = 1; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector w = FloatVector.fromArray(F, wt, i * LANES);
            min = min.blend(xi, xi.compare(VectorOperators.LT, min));
            max = max.blend(xi, xi.compare(VectorOperators.GT, max));
            sumW = sumW.add(w);
            sumX = sumX.add(w.mul(xi));
        }
        min = min.blend(zero, min.compare(VectorOperators.GT, zero));
        VectorMask<Float> flat = max.compare(VectorOperators.EQ, min);
        FloatVector iscale = FloatVector.broadcast(F, (float) nmax).div(max.sub(min));
        FloatVector scale = FloatVector.broadcast(F, 1f).div(iscale);
        FloatVector best = zero;
        for (int i = 0; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector l = nearestInt(iscale.mul(xi.sub(min)), 0, nmax);
            l.intoArray(lt, i * LANES);
            FloatVector diff = scale.mul(l).add(min).sub(xi);
            best = best.add(FloatVector.fromArray(F, wt, i * LANES).mul(diff.mul(diff)));
        }
        for (int is = 0; is <= nstep && nstep >= 1; is++) {
            iscale = FloatVector.broadcast(F, rmin + rdelta * is + nmax).div(max.sub(min));
            FloatVector sumL = zero, sumL2 = zero, sumXL = zero;
            for (int i = 0; i < n; i++) {
                FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
                FloatVector w = FloatVector.fromArray(F, wt, i * LANES);
                FloatVector l = nearestInt(iscale.mul(xi.sub(min)), 0, nmax);
                l.intoArray(lauxt, i * LANES);
                FloatVector wl = w.mul(l);
                sumL = sumL.add(wl);
                sumL2 = sumL2.add(wl.mul(l));
                sumXL = sumXL.add(wl.mul(xi));
            }
            FloatVector d = sumW.mul(sumL2).sub(sumL.mul(sumL));
            VectorMask<Float> usable = d.compare(VectorOperators.GT, zero);
            FloatVector thisScale = sumW.mul(sumXL).sub(sumX.mul(sumL)).div(d);
            FloatVector thisMin = sumL2.mul(sumX).sub(sumL.mul(sumXL)).div(d);
            VectorMask<Float> positive = thisMin.compare(VectorOperators.GT, zero);
            thisMin = thisMin.blend(zero, positive);
            thisScale = thisScale.blend(sumXL.div(sumL2), positive);
            FloatVector err = zero;
            for (int i = 0; i < n; i++) {
                FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
                FloatVector diff = thisScale.mul(FloatVector.fromArray(F, lauxt, i * LANES)).add(thisMin).sub(xi);
                err = err.add(FloatVector.fromArray(F, wt, i * LANES).mul(diff.mul(diff)));
            }
            VectorMask<Float> better = usable.and(err.compare(VectorOperators.LT, best));
            if (better.anyTrue()) {
                keep(n, better);
                best = best.blend(err, better);
                scale = scale.blend(thisScale, better);
                min = min.blend(thisMin, better);
            }
        }
        // All values equal (after clipping the min to 0): the reference returns at once with zero levels and scale.
        scale = scale.blend(zero, flat);
        scale.intoArray(scales, 0);
        min.neg().intoArray(mins, 0);
        untranspose(n, L, 0, flat);
    }

    /**
     * make_qx_quants with rmse_type 1 and no importance weights (as quantize_row_q6_K_ref calls it) on the 8 groups
     * of 16 at {@code x[xo ..]}: group g's levels go to {@code L[lo + 16·g ..]} and its scale to
     * {@code scales[so + g]}.
     */
    void qx(int nmax, float[] x, int xo, int[] L, int lo, float[] scales, int so) {
        final int n = 16;
        for (int g = 0; g < LANES; g++) {
            for (int i = 0; i < n; i++) xt[i * LANES + g] = x[xo + g * n + i];
        }
        FloatVector zero = FloatVector.zero(F);
        FloatVector amax = zero, max = zero;
        for (int i = 0; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector ax = xi.abs();
            VectorMask<Float> larger = ax.compare(VectorOperators.GT, amax);
            amax = amax.blend(ax, larger);
            max = max.blend(xi, larger);
        }
        VectorMask<Float> flat = amax.compare(VectorOperators.LT, Quantize.GROUP_MAX_EPS);
        FloatVector iscale = FloatVector.broadcast(F, (float) -nmax).div(max);
        FloatVector sumlx = zero, suml2 = zero;
        for (int i = 0; i < n; i++) {
            FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
            FloatVector l = nearestInt(iscale.mul(xi), -nmax, nmax - 1), w = xi.mul(xi);
            l.add(nmax).intoArray(lt, i * LANES);
            sumlx = sumlx.add(w.mul(xi).mul(l));
            suml2 = suml2.add(w.mul(l).mul(l));
        }
        FloatVector scale = sumlx.div(suml2).blend(zero, suml2.compare(VectorOperators.EQ, zero));
        FloatVector best = scale.mul(sumlx);
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = FloatVector.broadcast(F, -(nmax + 0.1f * is)).div(max);
            sumlx = zero;
            suml2 = zero;
            for (int i = 0; i < n; i++) {
                FloatVector xi = FloatVector.fromArray(F, xt, i * LANES);
                FloatVector l = nearestInt(iscale.mul(xi), -nmax, nmax - 1), w = xi.mul(xi);
                l.add(nmax).intoArray(lauxt, i * LANES);
                sumlx = sumlx.add(w.mul(xi).mul(l));
                suml2 = suml2.add(w.mul(l).mul(l));
            }
            VectorMask<Float> better = suml2.compare(VectorOperators.GT, zero)
                    .and(sumlx.mul(sumlx).compare(VectorOperators.GT, best.mul(suml2)));
            if (better.anyTrue()) {
                keep(n, better);
                FloatVector newScale = sumlx.div(suml2);
                scale = scale.blend(newScale, better);
                best = best.blend(newScale.mul(sumlx), better);
            }
        }
        scale.blend(zero, flat).intoArray(scales, so);
        untranspose(n, L, lo, flat);
    }

    /** The candidate levels become the levels in the lanes that improved. */
    private void keep(int n, VectorMask<Float> better) {
        for (int i = 0; i < n; i++) {
            FloatVector.fromArray(F, lt, i * LANES).blend(FloatVector.fromArray(F, lauxt, i * LANES), better).intoArray(lt, i * LANES);
        }
    }

    /** Levels back to group order as ints, zero for flat groups. */
    private void untranspose(int n, int[] L, int lo, VectorMask<Float> flat) {
        for (int g = 0; g < LANES; g++) {
            boolean zero = flat.laneIsSet(g);
            for (int i = 0; i < n; i++) L[lo + g * n + i] = zero ? 0 : (int) lt[i * LANES + g];
        }
    }
}
