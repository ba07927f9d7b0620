package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link MemoryRoof} reads every byte of odd-sized matrices and nothing past them (speed is not asserted). */
class MemoryRoofTest {
    @Test
    void readsOddSizesWithinBounds() {
        List<Tensor> ts = List.of(Blocks.randomTensor(GgmlType.Q8_0, 3, 96, 1), Blocks.randomTensor(GgmlType.F16, 5, 7, 2),
                Blocks.randomTensor(GgmlType.Q4_K, 2, 256, 3));
        assertThat(MemoryRoof.bytes(ts)).isEqualTo(3 * 102 + 5 * 14 + 2 * 144);
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThat(MemoryRoof.readBytesPerSecond(ts, pool)).isPositive();
            // Through each tensor's own segment: with VECTOR_ACCESS_OOB_CHECK=2 a load past a matrix throws.
            RawWeights.checked = true;
            try {
                assertThat(MemoryRoof.readBytesPerSecond(ts, pool)).isPositive();
            } finally {
                RawWeights.checked = false;
            }
        }
    }
}
