package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IEEE half weights. The Vector API of JDK 25 has no half-to-float conversion, and the bit manipulation that emulates
 * it (with infinities and NaN kept exact) measured slower than a plain loop over {@link Float#float16ToFloat}, which the
 * JIT turns into {@code vcvtph2ps} and vectorizes. So the row is converted in chunks into a small float buffer that
 * stays in L1, and multiplied there.
 */
final class F16Kernel extends RowKernel {

    @Override
    boolean interleavesRows() {
        return true;
    }

    @Override
    float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp) {
        float s = 0;
        for (int i = 0; i < n; i += SCRATCH) {
            int m = Math.min(SCRATCH, n - i);
            convert(w, off + 2L * i, tmp, 0, m);
            s += MatMul.dot(tmp, 0, x, xOff + i, m);
        }
        return s;
    }

    @Override
    void dequantize(MemorySegment w, long off, float[] out, int outOff, int n) {
        convert(w, off, out, outOff, n);
    }

    private static void convert(MemorySegment w, long off, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) out[outOff + i] = Float.float16ToFloat(w.get(Dequant.LE_SHORT, off + 2L * i));
    }
}
