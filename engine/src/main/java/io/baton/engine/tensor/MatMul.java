package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static io.baton.engine.tensor.Vec.F;
import static io.baton.engine.tensor.Vec.L;

/**
 * Matrix products of a weight matrix with a batch of activation rows: {@code out[t * rows + r] = Σ_c W[r][c] ·
 * x[t * cols + c]} for {@code t < tokens}. Activations stay float32 and weights are dequantized exactly (no rounding of
 * activations to 8 or 16 bits as llama.cpp does), so results match a float32 expansion of the weights up to the order
 * of the float sums (about 1e-6 relative).
 *
 * <p>Four paths, by the number of tokens:
 * <ul>
 *   <li>one token (decode, memory-bound): each thread streams whole rows through the type's fused dequantize-and-dot
 *   kernel ({@link RowKernel#dot}); rows are handed out in chunks of at most {@value #DECODE_CHUNK_BYTES} bytes;</li>
 *   <li>a few tokens (batched decode), for types with a small-batch kernel ({@link RowKernel#dotTokens}, Q8_0): weights
 *   dequantized in registers once per group of tokens, in chunks that stay in the L2 cache;</li>
 *   <li>many tokens (prefill, at least {@value #OUTER_MIN_TOKENS}): {@link OuterGemm}'s outer-product tiles, as BLAS
 *   libraries compute a matrix product;</li>
 *   <li>more tokens than a small batch, fewer than that (prefill chunks, large batches): 4 rows at a time are
 *   dequantized into a float panel and multiplied with groups of 4, 3 or 1 tokens by register tiles ({@link Gemm}), so
 *   every weight is read and dequantized once per call (per column slice) and reused for all tokens. Panel and tokens
 *   are packed vector by vector (the tokens once per call, for all threads), so a tile reads two sequential
 *   streams. Columns are cut into slices such that the activations of one slice for all tokens (about
 *   {@value #X_SLICE_BYTES} bytes) stay in the L2 cache while all rows of a chunk go by, and the panel in L1 (at most
 *   {@value #MAX_SLICE} columns). The next panel's weights are prefetched ({@link Prefetch}) while a panel's tiles run,
 *   and several matrices with the same input (Q, K, V) can share one parallel section.</li>
 * </ul>
 * All of them split the rows over the {@link WorkerPool}.
 */
public final class MatMul {
    private MatMul() {}

    /**
     * Most weight bytes per hand-off in the decode path. Large, because each chunk restarts the hardware prefetcher's
     * streams where it begins: going from 64 KiB to 1 MiB chunks took qwen2.5-0.5b decode from 25 to 41-51 tok/s (F16) and
     * from 43-52 to 51-64 tok/s (Q8_0) on this project's 2-core machine (`baton bench engine --gen 64`, alternating runs);
     * 512 KiB and 2 MiB measured the same as 1 MiB, 4 MiB slower (too few chunks to balance two threads).
     */
    static final int DECODE_CHUNK_BYTES = 1024 * 1024;
    /** Most weight bytes per chunk of the small-batch path (half of a 512 KiB L2, the smallest of recent x86 cores). */
    static final int SMALL_BATCH_CHUNK_BYTES = 256 * 1024;
    /** Target size of one column slice of the activations in the prefill path (fits a 2 MiB L2 with room to spare). */
    static final int X_SLICE_BYTES = 1024 * 1024;
    /**
     * Longest column slice in the prefill path: a panel of 4 rows of 1024 floats (16 KiB) stays in L1 beside the token
     * rows (measured 16% faster than whole 4864-column rows).
     */
    static final int MAX_SLICE = 1024;

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[RowKernel.SCRATCH]);
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[4 * 1024]);

    /**
     * @param w      the weight matrix, {@code rows × cols} of a supported type
     * @param x      {@code tokens} rows of {@code w.cols()} floats
     * @param tokens number of activation rows (0 does nothing)
     * @param out    receives {@code tokens} rows of {@code w.rows()} floats
     * @param pool   threads to use
     * @throws UnsupportedOperationException for a weight type without kernel
     * @throws IllegalArgumentException      when {@code x} or {@code out} is too short
     */
    public static void matmul(Tensor w, float[] x, int tokens, float[] out, WorkerPool pool) {
        RowKernel kernel = RowKernel.of(w.type());
        int rows = w.rows(), cols = w.cols();
        checkSizes(w, x, tokens, out);
        if (tokens == 0 || rows == 0) return;
        if (tokens == 1) {
            decode(w, kernel, x, out, pool, rows, cols);
        } else if (tokens <= kernel.smallBatchTokens()) {
            smallBatch(w, kernel, x, tokens, out, pool, rows, cols);
        } else {
            prefill(w, kernel, x, tokens, out, pool, rows, cols);
        }
    }

    /**
     * The products of several matrices with the same activations, {@code outs[i] = ws[i] · x} (a layer's Q, K and V;
     * its gate and up projections). In the tile path, for matrices of one type, they run as one parallel section over
     * all their panels: one hand-off and one packing of the tokens instead of one per matrix, and no thread idles at
     * the end of a small matrix (K and V of qwen2.5-0.5b have 128 rows: 32 panels for two threads). Elsewhere one
     * {@link #matmul(Tensor, float[], int, float[], WorkerPool)} after the other. Same results either way.
     *
     * @throws IllegalArgumentException when the matrices differ in columns, or as the single-matrix call
     */
    public static void matmul(Tensor[] ws, float[] x, int tokens, float[][] outs, WorkerPool pool) {
        if (ws.length != outs.length) throw new IllegalArgumentException(ws.length + " matrices but " + outs.length + " outputs");
        if (ws.length == 0) return;
        boolean oneType = true;
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != ws[0].cols()) {
                throw new IllegalArgumentException(ws[i].name() + " has " + ws[i].cols() + " columns, " + ws[0].name() + " " + ws[0].cols());
            }
            checkSizes(ws[i], x, tokens, outs[i]);
            oneType &= ws[i].type() == ws[0].type();
        }
        RowKernel kernel = RowKernel.of(ws[0].type());
        if (oneType && tokens > kernel.smallBatchTokens() && tokens < OUTER_MIN_TOKENS) {
            tiles(ws, kernel, x, tokens, outs, pool);
        } else {
            for (int i = 0; i < ws.length; i++) matmul(ws[i], x, tokens, outs[i], pool);
        }
    }

    private static void decode(Tensor w, RowKernel kernel, float[] x, float[] out, WorkerPool pool, int rows, int cols) {
        MemorySegment data = RawWeights.segment(w);
        long base = RawWeights.base(w);
        long rowBytes = w.rowBytes();
        float[] xk = kernel.decodeActivations(w, x, cols);
        int grain = decodeGrain(rows, rowBytes, pool.threads());
        pool.forRange(rows, grain, (from, to) -> {
            float[] tmp = SCRATCH.get();
            kernel.dotRows(data, base + from * rowBytes, rowBytes, to - from, x, xk, cols, tmp, out, from);
        });
    }

    /**
     * Rows per decode chunk: the matrix is cut into a multiple of {@code threads} chunks of equal size, each at most
     * {@link #DECODE_CHUNK_BYTES}, so that every thread gets the same share when none is delayed, and the rows of a
     * chunk are a multiple of 4 ({@link RowKernel#dotRows} runs four rows at once and falls back to one row at a time
     * for the remainder: 7-row chunks of llama-3.2-1b's down projection once left 3 of every 7 rows on the slow path).
     */
    static int decodeGrain(int rows, long rowBytes, int threads) {
        long bytes = rows * rowBytes;
        long perThread = (bytes + threads - 1) / threads;
        long chunks = threads * ((perThread + DECODE_CHUNK_BYTES - 1) / DECODE_CHUNK_BYTES);
        long grain = (rows + chunks - 1) / chunks;
        return (int) Math.min(rows, (grain + 3) / 4 * 4);
    }

    private static void smallBatch(Tensor w, RowKernel kernel, float[] x, int tokens, float[] out, WorkerPool pool,
                                   int rows, int cols) {
        MemorySegment data = RawWeights.segment(w);
        long base = RawWeights.base(w);
        long rowBytes = w.rowBytes();
        int pairs = (rows + 1) / 2;
        // Chunks small enough to stay in L2 while the groups of tokens go by: the first group reads them from memory,
        // the others from the cache (an 18 MB chunk of the output matrix was read from memory once per group).
        int grain = (int) Math.max(1, Math.min(pairs / (4 * pool.threads()), SMALL_BATCH_CHUNK_BYTES / (2 * rowBytes)));
        pool.forRange(pairs, grain, (from, to) -> {
            int r0 = 2 * from, r1 = Math.min(rows, 2 * to);
            kernel.dotTokens(data, base + r0 * rowBytes, rowBytes, r1 - r0, x, tokens, cols, out, r0, rows);
        });
    }

    /**
     * Fewest tokens for the outer-product path. It transposes every weight into its panel (a scalar store per weight),
     * which pays once enough tokens share it: JMH {@code MatMulBench.prefill}, Q8_0, qwen2.5-0.5b shapes, 2 threads,
     * against the 4x3 dot-product tiles: 64 tokens 0.7x, 128 tokens 0.9x, 256 tokens 1.3-1.45x, 512 tokens 1.4-1.95x
     * (234-274 GFLOP/s against 140-165).
     */
    static final int OUTER_MIN_TOKENS = 192;
    /** Columns per slice of the outer-product path: a panel of 32 rows x 256 floats (32 KiB) stays in L1. */
    static final int OUTER_SLICE = 256;
    /** One dequantized row slice of the outer-product path, before it is stored column-wise into the panel. */
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[OUTER_SLICE]);
    private static final ThreadLocal<float[]> SPILL = ThreadLocal.withInitial(() -> new float[OuterGemm.MR]);

    /**
     * Prefill with {@link OuterGemm}: panels of {@link OuterGemm#MR} rows dequantized and stored column by column, for
     * {@link #OUTER_SLICE} columns at a time, multiplied with all tokens 6 at a time.
     */
    private static void prefillOuter(Tensor w, RowKernel kernel, float[] x, int tokens, float[] out, WorkerPool pool,
                                     int rows, int cols) {
        MemorySegment data = RawWeights.segment(w);
        long base = RawWeights.base(w);
        GgmlType type = w.type();
        long rowBytes = w.rowBytes();
        int mr = OuterGemm.MR;
        int slice = Math.min(cols, OUTER_SLICE);
        int panels = (rows + mr - 1) / mr;
        int grain = Math.max(1, panels / (4 * pool.threads()));
        pool.forRange(panels, grain, (from, to) -> {
            float[] panel = scratch(PANEL, mr * slice);
            float[] row = ROW.get();
            float[] spill = SPILL.get();
            for (int k0 = 0; k0 < cols; k0 += slice) {
                int kn = Math.min(slice, cols - k0);
                long byteOff = type.bytesFor(k0);
                for (int q = from; q < to; q++) {
                    int r0 = mr * q, nr = Math.min(mr, rows - r0);
                    for (int i = 0; i < mr; i++) {
                        if (i < nr) {
                            kernel.dequantize(data, base + (r0 + i) * rowBytes + byteOff, row, 0, kn);
                            for (int k = 0; k < kn; k++) panel[k * mr + i] = row[k];
                        } else {
                            for (int k = 0; k < kn; k++) panel[k * mr + i] = 0f;
                        }
                    }
                    boolean add = k0 > 0;
                    for (int t = 0; t < tokens; t += OuterGemm.NR) {
                        int nt = Math.min(OuterGemm.NR, tokens - t);
                        OuterGemm.tile(panel, kn, x, t * cols + k0, cols, nt, out, t * rows + r0, rows, nr, add, spill);
                    }
                }
            }
        });
    }

    private static void prefill(Tensor w, RowKernel kernel, float[] x, int tokens, float[] out, WorkerPool pool,
                                int rows, int cols) {
        if (tokens >= OUTER_MIN_TOKENS) {
            prefillOuter(w, kernel, x, tokens, out, pool, rows, cols);
            return;
        }
        tiles(new Tensor[] {w}, kernel, x, tokens, new float[][] {out}, pool);
    }

    /** One matrix of a {@link #tiles} call: where its rows are and where its panels start in the call's numbering. */
    private record Part(MemorySegment data, long base, long rowBytes, int rows, float[] out, int firstQuad) {
        static Part[] of(Tensor[] ws, float[][] outs) {
            Part[] parts = new Part[ws.length];
            for (int i = 0, q = 0; i < ws.length; q += (ws[i].rows() + 3) / 4, i++) {
                parts[i] = new Part(RawWeights.segment(ws[i]), RawWeights.base(ws[i]), ws[i].rowBytes(), ws[i].rows(), outs[i], q);
            }
            return parts;
        }

        /** The part that holds panel {@code q}, searching forward from part {@code i}. */
        static int find(Part[] parts, int i, int q) {
            while (i + 1 < parts.length && q >= parts[i + 1].firstQuad) i++;
            return i;
        }
    }

    /**
     * The tile path over the panels of one or more matrices of one type and width, as one parallel section (see the
     * class comment and {@link #matmul(Tensor[], float[], int, float[][], WorkerPool)}).
     */
    private static void tiles(Tensor[] ws, RowKernel kernel, float[] x, int tokens, float[][] outs, WorkerPool pool) {
        GgmlType type = ws[0].type();
        int cols = ws[0].cols();
        Part[] parts = Part.of(ws, outs);
        Part lastPart = parts[parts.length - 1];
        int quads = lastPart.firstQuad + (lastPart.rows + 3) / 4;
        if (quads == 0 || tokens == 0) return;
        // Column slice: a multiple of 256 (a whole number of blocks of every type) unless it is all the columns.
        int kc = cols;
        if ((long) tokens * cols * Float.BYTES > X_SLICE_BYTES) {
            kc = Math.max(256, X_SLICE_BYTES / (tokens * Float.BYTES) / 256 * 256);
        }
        kc = Math.min(kc, MAX_SLICE);
        if (kc >= cols) kc = cols;
        int slice = kc;
        // 16 chunks per thread: a thread that finishes early waits for at most a sixteenth of its share (4 per thread
        // left the caller spinning for ~10% of a batch-16 step in JFR; batch 16 and 64 steps +4-5% on average).
        int grain = Math.max(1, quads / (16 * pool.threads()));
        int sliceFloats = Gemm.vectors(slice) * L;
        // The tokens' columns, packed once for all threads (slice by slice, group by group): packing in every chunk
        // repeated it 32 times per call (JMH batch, 896x4864, 16 tokens: 111 -> 121-169 GFLOP/s, 3 of 4 pairs; engine
        // batch 16 +3% in three runs that alternated both ways step by step).
        float[] xp = scratch(PACKED_TOKENS, tokens * Gemm.vectors(cols) * L);
        Gemm.packSlices(x, cols, tokens, slice, xp);
        boolean direct = true;
        for (Part p : parts) direct &= RawWeights.isDirect(p.data);
        boolean prefetch = direct && Prefetch.enabled();
        pool.forRange(quads, grain, (from, to) -> {
            float[] panel = scratch(PANEL, 4 * sliceFloats);
            float[] row = scratch(PACKED_ROW, sliceFloats);
            for (int k0 = 0; k0 < cols; k0 += slice) {
                int kn = Math.min(slice, cols - k0);
                int v = Gemm.vectors(kn);
                long byteOff = type.bytesFor(k0), sliceBytes = type.bytesFor(kn);
                for (int q = from, pi = Part.find(parts, 0, from); q < to; q++) {
                    pi = Part.find(parts, pi, q);
                    Part p = parts[pi];
                    int r0 = 4 * (q - p.firstQuad), nr = Math.min(4, p.rows - r0), rows = p.rows;
                    if (prefetch && q + 1 < quads) {
                        // The next panel's bytes start on their way while this panel's tiles run (see Prefetch).
                        Part n = parts[Part.find(parts, pi, q + 1)];
                        int nr0 = 4 * (q + 1 - n.firstQuad);
                        Prefetch.rows(n.base + nr0 * n.rowBytes + byteOff, sliceBytes, n.rowBytes, Math.min(4, n.rows - nr0));
                    }
                    for (int i = 0; i < 4; i++) {
                        if (i < nr) {
                            kernel.dequantizePacked(p.data, p.base + (r0 + i) * p.rowBytes + byteOff, panel, i, kn, row);
                        } else {
                            Gemm.zeroPanelRow(panel, i, kn);
                        }
                    }
                    boolean add = k0 > 0;
                    float[] out = p.out;
                    for (int t = 0, g; t < tokens; t += g) {
                        g = Gemm.group(tokens, t);
                        int xo = tokens * k0 + t * v * L, oo = t * rows + r0;
                        switch (g) {
                            case 4 -> Gemm.tile4x4(panel, v, xp, xo, out, oo, rows, nr, add);
                            case 3 -> Gemm.tile4x3(panel, v, xp, xo, out, oo, rows, nr, add);
                            default -> Gemm.tile4x1(panel, v, xp, xo, out, oo, nr, add);
                        }
                    }
                }
            }
        });
    }

    private static final ThreadLocal<float[]> PACKED_ROW = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PACKED_TOKENS = ThreadLocal.withInitial(() -> new float[0]);

    /** This thread's array of {@code buffer}, grown to at least {@code size} floats (contents undefined). */
    private static float[] scratch(ThreadLocal<float[]> buffer, int size) {
        float[] a = buffer.get();
        if (a.length < size) {
            a = new float[size];
            buffer.set(a);
        }
        return a;
    }

    private static void checkSizes(Tensor w, float[] x, int tokens, float[] out) {
        if (tokens < 0) throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
        long needX = (long) tokens * w.cols(), needOut = (long) tokens * w.rows();
        if (x.length < needX) {
            throw new IllegalArgumentException("activations of " + tokens + " tokens × " + w.cols() + " need " + needX
                    + " floats, got " + x.length + " (" + w.name() + ")");
        }
        if (out.length < needOut) {
            throw new IllegalArgumentException("output of " + tokens + " tokens × " + w.rows() + " needs " + needOut
                    + " floats, got " + out.length + " (" + w.name() + ")");
        }
    }

    /**
     * The plain scalar product the fast path is tested against: each row dequantized with {@link Dequant#row}, sums in
     * double, rounded once to float.
     */
    public static void matmulReference(Tensor w, float[] x, int tokens, float[] out) {
        checkSizes(w, x, tokens, out);
        int rows = w.rows(), cols = w.cols();
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(r, row, 0);
            for (int t = 0; t < tokens; t++) {
                double s = 0;
                int xo = t * cols;
                for (int c = 0; c < cols; c++) s += (double) row[c] * x[xo + c];
                out[t * rows + r] = (float) s;
            }
        }
    }

    /** {@code Σ a[aOff + i] * b[bOff + i]} for {@code i < n}, vectorized (summation order differs from a plain loop). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
            s2 = FloatVector.fromArray(F, a, aOff + i + 2 * L).fma(FloatVector.fromArray(F, b, bOff + i + 2 * L), s2);
            s3 = FloatVector.fromArray(F, a, aOff + i + 3 * L).fma(FloatVector.fromArray(F, b, bOff + i + 3 * L), s3);
        }
        for (; i + L <= n; i += L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** {@code y[yOff + i] += alpha * x[xOff + i]} for {@code i < n} (one fused multiply-add per element). */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(a, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
    }

    /** {@code x[off + i] *= s} for {@code i < n}. */
    public static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        for (; i + L <= n; i += L) FloatVector.fromArray(F, x, off + i).mul(s).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }
}
