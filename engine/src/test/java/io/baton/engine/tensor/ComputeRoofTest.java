package io.baton.engine.tensor;

import io.baton.engine.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link ComputeRoof}: the flops it counts per token, and a finite rate from every thread (speed is not asserted). */
class ComputeRoofTest {
    @Test
    void countsTwoFlopsPerWeight() {
        List<Tensor> ts = List.of(Blocks.randomTensor(GgmlType.Q8_0, 3, 96, 1), Blocks.randomTensor(GgmlType.F16, 5, 7, 2));
        assertThat(ComputeRoof.flopsPerToken(ts)).isEqualTo(2L * (3 * 96 + 5 * 7));
    }

    @Test
    void accumulatorsStayNearTheirFixpoint() {
        // x -> 0.999x + 0.001 pulls every lane toward 1 from its start (1..18 here): finite, no subnormals, whatever the
        // seed, so the loop times float arithmetic and nothing slower.
        for (int seed : new int[] {0, 3, 6, 1000}) {
            float s = ComputeRoof.chains(seed) / (12f * Vec.L);
            assertThat(s).isFinite().isBetween(1f, 19f);
        }
    }

    @Test
    void measuresAFiniteRateOnEveryThread() {
        try (WorkerPool pool = new WorkerPool(2)) {
            double flops = ComputeRoof.flopsPerSecond(pool);
            assertThat(flops).isPositive().isFinite();
        }
    }
}
