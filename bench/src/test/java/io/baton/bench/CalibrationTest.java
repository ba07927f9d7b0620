package io.baton.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CalibrationTest {
    private static final long S = 1_000_000_000L;

    @Test
    void jitTimeIsSplitIntoTheSecondsWhereEachSampledIntervalEnds() {
        long t0 = 5 * S;
        long[] pairs = {
                t0 - S / 10, 10,        // sampled just before the round: the baseline
                t0 + S / 10, 30,        // +20 in second 0
                t0 + S + S / 20, 35,    // +5 in second 1
                t0 + 2 * S + S / 2, 135 // +100 in second 2
        };
        assertThat(Calibration.NoiseFloor.perSecond(pairs, t0)).containsExactly(20, 5, 100);
        assertThat(Calibration.NoiseFloor.perSecond(new long[] {t0, 7}, t0)).isEmpty();
        assertThat(Calibration.NoiseFloor.perSecond(new long[] {t0, 7, t0 + 3 * S + 1, 7}, t0)).containsExactly(0, 0, 0, 0);
    }
}
