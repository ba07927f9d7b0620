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
     * {@code x}, into {@code out[outOff ..]}.
     *
     * <p>With {@link #interleavesRows()}, four rows a quarter of the range apart are computed together, one strip of
     * {@link #STRIP} columns of each in turn. Why: decode streams weights from memory, and on this project's machine
     * one sequential stream with compute between the loads leaves the memory system mostly idle (a C version of the
     * Q8_0 kernel read 5 GB/s from one stream, 9 GB/s from two distant streams, against 15 GB/s for a bare read loop);
     * four distant streams keep more of the hardware prefetcher's streams busy.
     */
    void dotRows(MemorySegment w, long off, long rowBytes, int rows, float[] x, float[] xk, int n, float[] tmp,
                 float[] out, int outOff) {
        if (!interleavesRows() || rows < 4) {
            for (int r = 0; r < rows; r++) out[outOff + r] = dot(w, off + r * rowBytes, x, 0, n, tmp);
            return;
        }
        int q = rows / 4;
        int strip = Math.min(n, STRIP);
        long stripBytes = rowBytes / (n / strip);
        for (int i = 0; i < q; i++) {
            long o0 = off + i * rowBytes, o1 = o0 + q * rowBytes, o2 = o1 + q * rowBytes, o3 = o2 + q * rowBytes;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            long sb = 0;
            for (int c = 0; c < n; c += strip, sb += stripBytes) {
                int len = Math.min(strip, n - c);
                s0 += dot(w, o0 + sb, x, c, len, tmp);
                s1 += dot(w, o1 + sb, x, c, len, tmp);
                s2 += dot(w, o2 + sb, x, c, len, tmp);
                s3 += dot(w, o3 + sb, x, c, len, tmp);
            }
            out[outOff + i] = s0;
            out[outOff + i + q] = s1;
            out[outOff + i + 2 * q] = s2;
            out[outOff + i + 3 * q] = s3;
        }
        for (int r = 4 * q; r < rows; r++) out[outOff + r] = dot(w, off + r * rowBytes, x, 0, n, tmp);
    }

    /**
     * Most tokens up to which {@link #dotTokens} is used for a matrix product (0, the default: this type has none and
     * every product of several tokens takes the prefill path).
     */
    int smallBatchTokens() {
        return 0;
    }

    /**
     * Rows {@code [0, rows)} from byte {@code off} (each {@code rowBytes} long) times all {@code tokens} rows of
     * {@code x} ({@code n} columns each) into {@code out[t * outStride + outRow + r]}: the small-batch product of
     * batched decode, dequantizing each weight in registers once per few tokens instead of into a panel.
     */
    void dotTokens(MemorySegment w, long off, long rowBytes, int rows, float[] x, int tokens, int n, float[] out,
                   int outRow, int outStride) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no small-batch kernel");
    }

    /**
     * The activations re-laid out the way this type's {@link #dotRows} reads them, made once per matrix product on
     * the calling thread before the rows are split over the threads, and passed to {@link #dotRows} as {@code xk}; null
     * (the default) when it reads {@code x} as it is.
     */
    float[] decodeActivations(Tensor w, float[] x, int n) {
        return null;
    }

    /**
     * Columns per strip in the interleaved {@link #dotRows}: one K-quant super-block, eight Q8_0/Q4_0 blocks. A
     * multiple of every block size, so a strip starts at a whole block.
     */
    static final int STRIP = 256;

    /**
     * Whether {@link #dotRows} interleaves four distant rows. Measured per type (JMH {@code MatMulBench.decode}, one
     * thread, 4864x896 or 896x4864): Q4_K +17%, Q6_K +50%; BF16 and Q4_0 lost 10-25% (the partial sums of the strips
     * cost more than the streams gain), so they keep whole rows. F16 and Q8_0 override {@link #dotRows} with fused
     * four-row loops of their own.
     */
    boolean interleavesRows() {
        return false;
    }

    /** The same values as {@link Dequant#row}, bit for bit. */
    abstract void dequantize(MemorySegment w, long off, float[] out, int outOff, int n);

    /**
     * {@link #dequantize} of {@code n} columns into row {@code r} of a packed panel of {@link Gemm} ({@link
     * Gemm#packPanelRow}), through {@code row} (at least {@code Gemm.vectors(n) · L} floats). Types may write the
     * packed places directly.
     */
    void dequantizePacked(MemorySegment w, long off, float[] p, int r, int n, float[] row) {
        dequantize(w, off, row, 0, n);
        Gemm.packPanelRow(row, n, p, r);
    }

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
