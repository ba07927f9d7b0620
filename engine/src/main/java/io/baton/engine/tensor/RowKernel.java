package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The fast, vectorized code for one weight type, working on one row of a weight matrix at a time.
 *
 * <p>{@link #dot} is the decode kernel: it streams the row once, dequantizing in registers, and multiplies it with a
 * float32 activation row. {@link #dequantize} produces exactly the values of {@link Dequant#row} (same float
 * operations, no fused multiply-add) for the prefill path, which dequantizes a few rows once and reuses them for many
 * tokens.
 */
abstract sealed class RowKernel
        permits F32Kernel, F16Kernel, BF16Kernel, Q8_0Kernel, Q4_0Kernel, Q4KKernel, Q5KKernel, Q6KKernel {

    /** Length of the float scratch array passed to {@link #dot} (kernels that stage converted floats use it). */
    static final int SCRATCH = 1024;

    /**
     * The sum over {@code c < n} of {@code W[c] * x[xOff + c]}, where {@code W} is the row whose first block starts at
     * byte {@code off} of {@code w} and {@code n} is a multiple of the block size.
     *
     * @param tmp a scratch array of at least {@link #SCRATCH} floats
     */
    abstract float dot(MemorySegment w, long off, float[] x, int xOff, int n, float[] tmp);

    /**
     * {@link #dot} of {@code rows} consecutive rows ({@code rowBytes} apart, the first at {@code off}) with the same
     * {@code x}, into {@code out[outOff ..]}. Kernels override it when working on several rows at once pays (the
     * activation loads and the loop overhead are shared).
     */
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, int n, float[] tmp, float[] out, int outOff) {
        for (int r = 0; r < rows; r++) out[outOff + r] = dot(w, off + r * rowBytes, x, 0, n, tmp);
    }

    /** The same values as {@link Dequant#row}, bit for bit. */
    abstract void dequantize(MemorySegment w, long off, float[] out, int outOff, int n);

    private static final RowKernel F32 = new F32Kernel();
    private static final RowKernel F16 = new F16Kernel();
    private static final RowKernel BF16 = new BF16Kernel();
    private static final RowKernel Q8_0 = new Q8_0Kernel();
    private static final RowKernel Q4_0 = new Q4_0Kernel();
    private static final RowKernel Q4_K = new Q4KKernel();
    private static final RowKernel Q5_K = new Q5KKernel();
    private static final RowKernel Q6_K = new Q6KKernel();

    /** The kernel for {@code type}; {@link UnsupportedOperationException} for types Baton does not compute with. */
    static RowKernel of(GgmlType type) {
        return switch (type) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
            case Q4_K -> Q4_K;
            case Q5_K -> Q5_K;
            case Q6_K -> Q6_K;
            default -> throw new UnsupportedOperationException("matrix products with " + type + " weights are not supported");
        };
    }
}
