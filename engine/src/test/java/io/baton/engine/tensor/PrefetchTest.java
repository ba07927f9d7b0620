package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link Prefetch}: the machine-code function loads and runs where it should, and the tile path stays exact with
 * it (what it buys is measured with {@code baton bench engine}, not here).
 */
class PrefetchTest {

    private static boolean x86Linux() {
        String arch = System.getProperty("os.arch");
        return ("amd64".equals(arch) || "x86_64".equals(arch)) && "Linux".equals(System.getProperty("os.name"));
    }

    @Test
    void loadsOnX86LinuxAndIsOnByDefault() {
        assumeTrue(x86Linux(), "the prefetch function is x86-64 Linux code");
        assertThat(Prefetch.available()).isTrue();
        assertThat(Prefetch.enabled()).isTrue();
    }

    @Test
    void runsOverAnyRangeWithoutTouchingIt() {
        assumeTrue(Prefetch.available());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(1 << 16, 64);
            for (long i = 0; i < m.byteSize(); i++) m.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
            long a = m.address();
            // Unaligned starts, a range inside one line, ranges across lines, zero and negative sizes and row counts,
            // and a range past the end of the allocation (prefetches never fault).
            Prefetch.rows(a + 3, 1, 100, 1);
            Prefetch.rows(a + 60, 8, 952, 4);
            Prefetch.rows(a, 3808, 952, 4);
            Prefetch.rows(a + 17, 1088, 9728, 3);
            Prefetch.rows(a, 0, 64, 4);
            Prefetch.rows(a, 64, 64, 0);
            Prefetch.rows(a, 64, 64, -1);
            Prefetch.rows(a + m.byteSize() - 8, 4096, 4096, 2);
            for (long i = 0; i < m.byteSize(); i++) {
                assertThat(m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i)).isEqualTo((byte) i);
            }
        }
    }

    @Test
    void tilePathMatchesTheReferenceWithAndWithoutPrefetch() {
        // Not bit-for-bit against each other: the Vector API's reductions sum in another order before C2 compiles
        // them, so a first call and a later one may differ in the last bits whatever prefetching does.
        assumeTrue(Prefetch.available());
        boolean before = Prefetch.enabled();
        try (WorkerPool pool = new WorkerPool(2)) {
            // Many quads per chunk (prefetch of the next panel inside and across chunks, a last quad of 3 rows), whole
            // rows and column slices (4864 columns: slices of 1024, the last 768), 16 and 7 tokens.
            for (int cols : new int[] {896, 4864}) {
                Tensor w = Blocks.randomTensor(GgmlType.Q8_0, 1027, cols, cols);
                assertThat(RawWeights.isDirect(RawWeights.segment(w))).as("native weights, the prefetching path").isTrue();
                for (int tokens : new int[] {16, 7}) {
                    float[] x = Blocks.randomFloats(tokens * cols, tokens);
                    float[] ref = new float[tokens * w.rows()];
                    MatMul.matmulReference(w, x, tokens, ref);
                    for (boolean on : new boolean[] {true, false}) {
                        Prefetch.enable(on);
                        float[] out = new float[tokens * w.rows()];
                        MatMul.matmul(w, x, tokens, out, pool);
                        double maxRef = 0, maxErr = 0;
                        for (int i = 0; i < ref.length; i++) {
                            maxRef = Math.max(maxRef, Math.abs(ref[i]));
                            maxErr = Math.max(maxErr, Math.abs(out[i] - ref[i]));
                        }
                        assertThat(maxErr / maxRef).as("cols %d tokens %d prefetch %s", cols, tokens, on)
                                .isLessThanOrEqualTo(MatMulTest.TOLERANCE);
                    }
                }
            }
        } finally {
            Prefetch.enable(before);
        }
    }
}
