package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class FastExpTest {

    @Test
    void expIsAccurateOnItsDomain() {
        SplittableRandom r = new SplittableRandom(4);
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            float x = i < 1000 ? -i * 0.0873f : (float) (-r.nextDouble() * 87.3);
            double exact = Math.exp(x);
            double relative = Math.abs(FastExp.expNonPositive(x) - exact) / exact;
            worst = Math.max(worst, relative);
        }
        assertThat(worst).isLessThan(3e-7); // a few float ulps
        assertThat(FastExp.expNonPositive(0f)).isEqualTo(1f);
        assertThat(FastExp.expNonPositive(-0f)).isEqualTo(1f);
        assertThat(FastExp.expNonPositive(-88f)).isEqualTo(0f);
        assertThat(FastExp.expNonPositive(Float.NEGATIVE_INFINITY)).isEqualTo(0f);
    }

    @Test
    void expIsMonotoneAcrossReductionBoundaries() {
        // Around each multiple of ln 2 / 2 the range reduction switches n; the result must not step backwards.
        for (int n = 0; n < 250; n++) {
            float center = (float) (-(n + 0.5) * Math.log(2));
            float x = Math.nextUp(center);
            for (int step = 0; step < 64; step++, x = Math.nextUp(x)) {
                float below = Math.nextDown(x);
                if (below < -87.33654f) continue;
                assertThat(FastExp.expNonPositive(x)).isGreaterThanOrEqualTo(FastExp.expNonPositive(below));
            }
        }
    }
}
