package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Differential tests: the fast {@link MatMul#matmul} (fused decode kernels, prefill panels and tiles, threads) against
 * {@link MatMul#matmulReference} on random weights of every type, odd sizes included. The error is measured relative to
 * the largest reference output of the case; sums in a different order differ by about 1e-7 of it.
 */
class MatMulTest {

    static final List<GgmlType> TYPES = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    static final double TOLERANCE = 1e-5;

    private static WorkerPool one, three;

    @BeforeAll
    static void pools() {
        one = new WorkerPool(1);
        three = new WorkerPool(3);
    }

    @AfterAll
    static void closePools() {
        one.close();
        three.close();
    }

    private static int[] colsFor(GgmlType type) {
        return switch (type.blockSize) {
            case 256 -> new int[] {256, 768};
            case 32 -> new int[] {32, 96, 256, 768};
            default -> new int[] {1, 7, 33, 96, 100, 768};
        };
    }

    /** Max |fast - reference| over the case, divided by max |reference|. */
    private static double compare(Tensor w, float[] x, int tokens, WorkerPool pool) {
        float[] ref = new float[tokens * w.rows()];
        float[] fast = new float[tokens * w.rows() + 1];
        fast[fast.length - 1] = 12345f;
        MatMul.matmulReference(w, x, tokens, ref);
        MatMul.matmul(w, x, tokens, fast, pool);
        assertThat(fast[fast.length - 1]).as("wrote past the output").isEqualTo(12345f);
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < ref.length; i++) {
            assertThat(Float.isFinite(fast[i])).as("output %d finite", i).isTrue();
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            maxErr = Math.max(maxErr, Math.abs(fast[i] - ref[i]));
        }
        assertThat(maxRef).as("reference is not all zero").isGreaterThan(0);
        return maxErr / maxRef;
    }

    @Test
    void fastMatchesReferenceForEveryTypeAndOddSizes() {
        // Production path: native weights read through RawWeights' whole-address-space segment.
        assertThat(RawWeights.checked).isFalse();
        fastMatchesReference();
    }

    @Test
    void checkedAccessCatchesNothingOutOfBounds() {
        // The same cases through each tensor's own segment: with VECTOR_ACCESS_OOB_CHECK=2 (set for the tests), any
        // kernel load outside its matrix throws here, which the absolute-address path above cannot detect.
        RawWeights.checked = true;
        try {
            fastMatchesReference();
        } finally {
            RawWeights.checked = false;
        }
    }

    @Test
    void refusesWeightsWhoseMemoryWasReleased() {
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
        Tensor w = new Tensor("released", GgmlType.Q8_0, new long[] {32, 2}, arena.allocate(68, 64));
        arena.close();
        assertThatThrownBy(() -> MatMul.matmul(w, new float[32], 1, new float[2], one))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
    }

    private void fastMatchesReference() {
        int[] rowsList = {1, 3, 17, 67};
        int[] tokensList = {1, 2, 3, 5, 8, 13, 17};
        long seed = 1;
        for (GgmlType type : TYPES) {
            double worst = 0;
            for (int cols : colsFor(type)) {
                for (int rows : rowsList) {
                    Tensor w = Blocks.randomTensor(type, rows, cols, seed++);
                    for (int tokens : tokensList) {
                        float[] x = Blocks.randomFloats(tokens * cols, seed++);
                        for (WorkerPool pool : new WorkerPool[] {one, three}) {
                            double err = compare(w, x, tokens, pool);
                            assertThat(err).as("%s rows=%d cols=%d tokens=%d threads=%d", type, rows, cols, tokens,
                                    pool.threads()).isLessThanOrEqualTo(TOLERANCE);
                            worst = Math.max(worst, err);
                        }
                    }
                }
            }
            System.out.printf("matmul %s: worst relative error %.2e%n", type, worst);
        }
    }

    @Test
    void severalMatricesInOneSectionMatchTheReference() {
        // A layer's Q, K and V (and gate, up) in one call: panels of all matrices in one range, chunks that cross from
        // one matrix to the next, partial last panels (67, 5 and 17 rows), every path by token
        // count (1, the small batch, the tiles), a mixed-type set (one matrix after the other), 1 and 3 threads.
        long seed = 500;
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.F16, GgmlType.Q4_K)) {
            int cols = type == GgmlType.Q4_K ? 256 : 96;
            Tensor[] ws = {Blocks.randomTensor(type, 67, cols, seed++), Blocks.randomTensor(type, 17, cols, seed++),
                    Blocks.randomTensor(type, 5, cols, seed++), Blocks.randomTensor(type, 17, cols, seed++)};
            for (int tokens : new int[] {1, 3, 5, 16, 17}) {
                float[] x = Blocks.randomFloats(tokens * cols, seed++);
                for (WorkerPool pool : new WorkerPool[] {one, three}) {
                    float[][] outs = new float[ws.length][];
                    for (int i = 0; i < ws.length; i++) outs[i] = new float[tokens * ws[i].rows()];
                    MatMul.matmul(ws, x, tokens, outs, pool);
                    for (int i = 0; i < ws.length; i++) {
                        float[] ref = new float[tokens * ws[i].rows()];
                        MatMul.matmulReference(ws[i], x, tokens, ref);
                        assertThat(relativeError(outs[i], ref)).as("%s matrix %d tokens %d threads %d", type, i, tokens,
                                pool.threads()).isLessThanOrEqualTo(TOLERANCE);
                    }
                }
            }
        }
        Tensor q8 = Blocks.randomTensor(GgmlType.Q8_0, 9, 96, 1), f16 = Blocks.randomTensor(GgmlType.F16, 5, 96, 2);
        float[] x = Blocks.randomFloats(6 * 96, 3);
        float[][] outs = {new float[6 * 9], new float[6 * 5]};
        MatMul.matmul(new Tensor[] {q8, f16}, x, 6, outs, three);
        float[] ref = new float[6 * 5];
        MatMul.matmulReference(f16, x, 6, ref);
        assertThat(relativeError(outs[1], ref)).as("mixed types").isLessThanOrEqualTo(TOLERANCE);
        assertThatThrownBy(() -> MatMul.matmul(new Tensor[] {q8, Blocks.randomTensor(GgmlType.Q8_0, 4, 64, 4)}, x, 6,
                new float[][] {new float[54], new float[24]}, one)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("columns");
    }

    private static double relativeError(float[] fast, float[] ref) {
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            maxErr = Math.max(maxErr, Math.abs(fast[i] - ref[i]));
        }
        return maxErr / maxRef;
    }

    @Test
    void prefillChunksOfManyQuadsWithEveryTokenRemainder() {
        // Enough rows that each thread's chunk of the tile path holds many quads of 4 rows (the last quad has 3), and
        // token counts that leave every remainder after the 3-token tiles (9 = 3·3, 7 = 3·2+1, 11 = 3·3+1+1, ...),
        // on one and three threads.
        int rows = 2115;
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.F16)) {
            int cols = type == GgmlType.Q4_K ? 256 : 96;
            Tensor w = Blocks.randomTensor(type, rows, cols, 21);
            for (int t : new int[] {6, 7, 9, 11, 16, 17}) {
                float[] x = Blocks.randomFloats(t * cols, 22 + t);
                for (WorkerPool pool : new WorkerPool[] {one, three}) {
                    assertThat(compare(w, x, t, pool)).as("%s tokens %d threads %d", type, t, pool.threads())
                            .isLessThanOrEqualTo(TOLERANCE);
                }
            }
        }
    }

    @Test
    void prefillCutsLongRowsIntoColumnSlices() {
        // Rows longer than MatMul.MAX_SLICE, or tokens * cols * 4 bytes > MatMul.X_SLICE_BYTES: the columns are
        // processed in slices (the last one shorter) and the partial sums added.
        int tokens = 160, cols = 2304;
        assertThat((long) tokens * cols * 4).isGreaterThan(MatMul.X_SLICE_BYTES);
        assertThat(cols % MatMul.MAX_SLICE).isNotZero();
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.F16)) {
            Tensor w = Blocks.randomTensor(type, 9, cols, 7);
            for (int t : new int[] {tokens, 4, MatMul.OUTER_MIN_TOKENS + 8}) {
                float[] x = Blocks.randomFloats(t * cols, 8);
                assertThat(compare(w, x, t, three)).as(type + " tokens " + t).isLessThanOrEqualTo(TOLERANCE);
            }
        }
        Tensor odd = Blocks.randomTensor(GgmlType.F32, 5, MatMul.MAX_SLICE + 77, 9);
        float[] x = Blocks.randomFloats(3 * odd.cols(), 10);
        assertThat(compare(odd, x, 3, one)).isLessThanOrEqualTo(TOLERANCE);
        // The outer-product path (many tokens): a last slice of 77 columns, a partial panel of 5 rows, a last tile of
        // 5 tokens (OuterGemm.NR = 6), on one and three threads.
        int many = MatMul.OUTER_MIN_TOKENS + 5;
        float[] xm = Blocks.randomFloats(many * odd.cols(), 11);
        assertThat(compare(odd, xm, many, one)).isLessThanOrEqualTo(TOLERANCE);
        Tensor tall = Blocks.randomTensor(GgmlType.Q8_0, 3 * OuterGemm.MR + 7, 96, 12);
        float[] xt = Blocks.randomFloats(many * 96, 13);
        assertThat(compare(tall, xt, many, three)).isLessThanOrEqualTo(TOLERANCE);
    }

    @Test
    void f16SubnormalsZerosAndLargeValuesExactOnTheFastPath() {
        // F16Kernel converts halves in registers by rebiasing the exponent, two halves per int lane: subnormals, signed
        // zeros and large values must come out exact. 100 columns: the even/odd vector part and a scalar tail. 13 rows:
        // the decode kernel takes three quads of four rows and one single row.
        int rows = 13, cols = 100;
        java.util.Random r = new java.util.Random(11);
        java.nio.ByteBuffer b = halves(rows, cols, (row, c) -> switch (row % 4) {
            case 0 -> (short) (r.nextInt(0x400) | (r.nextBoolean() ? 0x8000 : 0));  // subnormals and zeros
            case 1 -> (short) (r.nextBoolean() ? 0x8000 : 0);                       // +0 and -0
            case 2 -> Float.floatToFloat16((float) r.nextGaussian() * 3000f);        // up to the largest halves
            default -> Float.floatToFloat16((float) r.nextGaussian() * 0.05f);
        });
        Tensor w = new Tensor("finite specials", GgmlType.F16, new long[] {cols, rows}, Blocks.segment(b.array()));
        assertThat(F16Kernel.allFinite(w)).as("the fast path applies").isTrue();
        assertSpecialsAsReference(w, b, rows, cols, row -> row % 4 == 1);
    }

    @Test
    void f16InfinitiesAndNaNAsTheReference() {
        // A matrix holding an infinity or NaN anywhere is multiplied with the plain loop: rows holding one give what
        // the reference gives (inf, -inf or NaN), the others their finite sums.
        int rows = 12, cols = 100;
        java.util.Random r = new java.util.Random(12);
        java.nio.ByteBuffer b = halves(rows, cols, (row, c) -> {
            short h = Float.floatToFloat16((float) r.nextGaussian() * 0.05f);
            if (row == 4 && c == 57) h = (short) 0x7C00;   // +inf
            if (row == 7 && c == 99) h = (short) 0xFC00;   // -inf
            if (row == 10 && c == 3) h = (short) 0x7E01;   // NaN
            return h;
        });
        Tensor w = new Tensor("non-finite", GgmlType.F16, new long[] {cols, rows}, Blocks.segment(b.array()));
        assertThat(F16Kernel.allFinite(w)).isFalse();
        assertSpecialsAsReference(w, b, rows, cols, row -> false);
        // One non-finite half in the last position of a long row is still found by the scan.
        byte[] tail = new byte[2 * 13];
        tail[24] = 0x00;
        tail[25] = (byte) 0x7C;
        assertThat(F16Kernel.allFinite(new Tensor("tail", GgmlType.F16, new long[] {13, 1}, Blocks.segment(tail)))).isFalse();
        assertThat(F16Kernel.allFinite(new Tensor("zeros", GgmlType.F16, new long[] {13, 1}, Blocks.segment(new byte[26])))).isTrue();
    }

    /** A row-major F16 matrix, little-endian, each half from {@code half(row, column)} in row-major order. */
    private static java.nio.ByteBuffer halves(int rows, int cols, java.util.function.IntBinaryOperator half) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(rows * cols * 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int row = 0; row < rows; row++) {
            for (int c = 0; c < cols; c++) b.putShort((short) half.applyAsInt(row, c));
        }
        return b;
    }

    private void assertSpecialsAsReference(Tensor w, java.nio.ByteBuffer b, int rows, int cols,
                                           java.util.function.IntPredicate zeroRow) {
        for (int tokens : new int[] {1, 3}) {
            float[] x = Blocks.randomFloats(tokens * cols, 12);
            for (int i = 0; i < x.length; i++) if (x[i] == 0) x[i] = 1;  // inf * 0 would be NaN in both: keep rows telling
            float[] ref = new float[tokens * rows], fast = new float[tokens * rows];
            MatMul.matmulReference(w, x, tokens, ref);
            MatMul.matmul(w, x, tokens, fast, one);
            for (int i = 0; i < ref.length; i++) {
                int t = i / rows, row = i % rows;
                double magnitude = 0;  // sum of |w * x| over the row: the scale of a rounding difference
                for (int c = 0; c < cols; c++) {
                    magnitude += Math.abs((double) Float.float16ToFloat(b.getShort(2 * (row * cols + c))) * x[t * cols + c]);
                }
                if (zeroRow.test(row)) assertThat(fast[i]).as("zeros").isEqualTo(0f);
                else if (!Float.isFinite(ref[i])) assertThat(Float.valueOf(fast[i])).as("row %d", row).isEqualTo(Float.valueOf(ref[i]));
                else assertThat((double) fast[i]).as("row %d", row)
                            .isCloseTo(ref[i], org.assertj.core.api.Assertions.within(1e-6 * magnitude));
                if (!zeroRow.test(row)) assertThat(magnitude).as("row %d is not all zero", row).isGreaterThan(0);
            }
        }
    }

    @Test
    void decodeChunksAreEqualPerThreadMultiplesOfFourRows() {
        // 4864 rows of 1792 bytes (8.7 MB, qwen2.5-0.5b's ffn up in F16) on 2 threads: 10 chunks of at most 1 MiB,
        // 5 per thread.
        assertThat(MatMul.decodeGrain(4864, 1792, 2)).isEqualTo(488);
        // A matrix smaller than a chunk per thread is still split once per thread.
        assertThat(MatMul.decodeGrain(896, 1792, 2)).isEqualTo(448);
        for (int rows : new int[] {1, 3, 5, 128, 896, 4863, 151936}) {
            for (long rowBytes : new long[] {34, 1792, 16384}) {
                for (int threads : new int[] {1, 2, 3, 16}) {
                    int g = MatMul.decodeGrain(rows, rowBytes, threads);
                    assertThat(g).isBetween(1, rows);
                    if (g < rows) {
                        assertThat(g % 4).isZero();
                        assertThat(g * rowBytes).isLessThanOrEqualTo(MatMul.DECODE_CHUNK_BYTES + 4 * rowBytes);
                    }
                }
            }
        }
    }

    @Test
    void largeMatrixSplitsOverThreads() {
        // Bigger than one decode chunk per thread, so several threads take part, with chunks of unequal row counts.
        Tensor w = Blocks.randomTensor(GgmlType.Q8_0, 3001, 1024, 3);
        assertThat(w.rowBytes() * 3001).isGreaterThan(3L * MatMul.DECODE_CHUNK_BYTES);
        for (int tokens : new int[] {1, 4}) {
            float[] x = Blocks.randomFloats(tokens * 1024, 4);
            assertThat(compare(w, x, tokens, three)).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    @Test
    void zeroTokensWritesNothing() {
        Tensor w = Blocks.randomTensor(GgmlType.Q8_0, 4, 32, 5);
        float[] out = {7f};
        MatMul.matmul(w, new float[0], 0, out, three);
        assertThat(out[0]).isEqualTo(7f);
    }

    @Test
    void rejectsShortArraysAndUnsupportedTypes() {
        Tensor w = Blocks.randomTensor(GgmlType.Q8_0, 4, 64, 5);
        assertThatThrownBy(() -> MatMul.matmul(w, new float[63], 1, new float[4], one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activations");
        assertThatThrownBy(() -> MatMul.matmul(w, new float[128], 2, new float[7], one))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output");
        Tensor q2 = new Tensor("q2", GgmlType.Q2_K, new long[] {256, 1}, Blocks.segment(new byte[84]));
        assertThatThrownBy(() -> MatMul.matmul(q2, new float[256], 1, new float[1], one))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Q2_K");
    }

    @Test
    void dotAxpyAndScaleMatchPlainLoops() {
        for (int n : new int[] {0, 1, 7, 8, 16, 31, 64, 65, 200}) {
            float[] a = Blocks.randomFloats(n + 3, n), b = Blocks.randomFloats(n + 5, n + 100L);
            double expected = 0, mag = 0;
            for (int i = 0; i < n; i++) {
                expected += (double) a[3 + i] * b[5 + i];
                mag += Math.abs((double) a[3 + i] * b[5 + i]);
            }
            assertThat((double) MatMul.dot(a, 3, b, 5, n)).isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-6 * mag + 1e-30));

            float[] y = b.clone(), yRef = b.clone();
            MatMul.axpy(0.37f, a, 3, y, 5, n);
            for (int i = 0; i < n; i++) yRef[5 + i] = Math.fma(0.37f, a[3 + i], yRef[5 + i]);
            assertThat(y).containsExactly(yRef);

            float[] s = a.clone(), sRef = a.clone();
            MatMul.scale(s, 3, n, -1.5f);
            for (int i = 0; i < n; i++) sRef[3 + i] *= -1.5f;
            assertThat(s).containsExactly(sRef);
        }
    }
}
