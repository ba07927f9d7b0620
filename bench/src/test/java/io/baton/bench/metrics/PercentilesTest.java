package io.baton.bench.metrics;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class PercentilesTest {
    // Expected values are numpy 1.26's np.percentile(x, p) with the default method="linear".
    @Test
    void matchesNumpyLinear() {
        double[] x = {1, 2, 3, 4};
        assertThat(Percentiles.of(x, 50)).isEqualTo(2.5);
        assertThat(Percentiles.of(x, 90)).isCloseTo(3.7, within(1e-12));
        assertThat(Percentiles.of(x, 99)).isCloseTo(3.97, within(1e-12));
        assertThat(Percentiles.of(x, 0)).isEqualTo(1);
        assertThat(Percentiles.of(x, 100)).isEqualTo(4);
        double[] ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(Percentiles.of(ten, 99)).isCloseTo(9.91, within(1e-12));
        assertThat(Percentiles.of(ten, 90)).isCloseTo(9.1, within(1e-12));
        assertThat(Percentiles.of(ten, 25)).isCloseTo(3.25, within(1e-12));
        assertThat(Percentiles.of(new double[]{0.1, 0.5, 2.0}, 99.9)).isCloseTo(1.997, within(1e-12));
    }

    @Test
    void edgeCases() {
        assertThat(Percentiles.of(new double[0], 50)).isNaN();
        assertThat(Percentiles.of(new double[]{7}, 99)).isEqualTo(7);
        assertThat(Percentiles.of(new double[]{2, 2, 2}, 33)).isEqualTo(2);
        assertThatThrownBy(() -> Percentiles.of(new double[]{1}, 101)).isInstanceOf(IllegalArgumentException.class);
    }

    /** The definition, written out differently: rank r = p/100*(n-1), between order statistics floor(r) and ceil(r). */
    @Test
    void agreesWithDefinitionOnRandomInputs() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(50);
            double[] v = rnd.doubles(n).map(d -> d * 100).sorted().toArray();
            double p = rnd.nextDouble() * 100;
            double r = p / 100 * (n - 1);
            double lo = v[(int) Math.floor(r)], hi = v[(int) Math.ceil(r)];
            assertThat(Percentiles.of(v, p)).isCloseTo(lo + (hi - lo) * (r - Math.floor(r)), within(1e-9));
        }
    }

    @Test
    void distributionStats() {
        Distribution d = Distribution.of(new double[]{4, 1, Double.NaN, 3, 2}, new double[]{50, 90, 99});
        assertThat(d.count()).isEqualTo(4);
        assertThat(d.mean()).isEqualTo(2.5);
        assertThat(d.std()).isCloseTo(Math.sqrt(1.25), within(1e-12)); // population std, numpy's default
        assertThat(d.p(50)).isEqualTo(2.5);
        assertThat(d.p(90)).isCloseTo(3.7, within(1e-12));
        assertThat(d.min()).isEqualTo(1);
        assertThat(d.max()).isEqualTo(4);
        assertThat(Distribution.name(99.9)).isEqualTo("p99.9");
        assertThat(Distribution.of(new double[0], new double[]{50}).mean()).isNaN();
    }
}
