package io.baton.bench.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SummaryTest {
    private static final double[] PS = {50, 90, 99};

    /** A completed request sent at {@code send} with tokens at the given offsets (s) from send; ends at the last token. */
    static RequestResult ok(int index, double send, double... offsets) {
        double[] t = new double[offsets.length];
        for (int i = 0; i < t.length; i++) t[i] = send + offsets[i];
        return new RequestResult(index, send, send, t, t[t.length - 1], 10, -1, t.length, t.length, null, null);
    }

    static RequestResult failed(int index, String code) {
        return new RequestResult(index, 0, 0, new double[0], 0.5, 10, -1, 0, 5, code, "scripted");
    }

    @Test
    void perRequestMetricsFollowVllm() {
        RequestResult r = ok(0, 1.0, 0.2, 0.25, 0.35, 0.40);
        assertThat(r.ttft()).isCloseTo(0.2, within(1e-12));
        assertThat(r.e2el()).isCloseTo(0.4, within(1e-12));
        assertThat(r.tpot()).isCloseTo((0.4 - 0.2) / 3, within(1e-12));
        assertThat(r.itls()).containsExactly(new double[]{0.05, 0.10, 0.05}, within(1e-12));
        assertThat(ok(1, 0, 0.3).tpot()).isNaN();
    }

    @Test
    void goodputAttainmentAndErrors() {
        List<RequestResult> rs = List.of(
                ok(0, 0, 0.1, 0.12, 0.14),      // ttft 0.1, tpot 0.02: good
                ok(1, 0, 0.3, 0.32, 0.34),      // ttft 0.3 > 0.2: bad
                ok(2, 0, 0.1, 0.2, 0.3),        // tpot 0.1 > 0.04: bad
                ok(3, 0, 0.15),                 // one token: no TPOT, meets it; good
                failed(4, "http_429"), failed(5, "http_429"), failed(6, "disconnected"));
        Slo slo = Slo.parse("ttft=0.2,tpot=0.04", 90);
        Summary s = Summary.of(rs, 2.0, slo, PS);
        assertThat(s.completed()).isEqualTo(4);
        assertThat(s.failed()).isEqualTo(3);
        assertThat(s.errors()).containsEntry("http_429", 2).containsEntry("disconnected", 1).hasSize(2);
        assertThat(s.goodput()).isCloseTo(2 / 2.0, within(1e-12));
        assertThat(s.sloAttainment()).isCloseTo(2 / 7.0, within(1e-12));
        assertThat(s.requestThroughput()).isCloseTo(4 / 2.0, within(1e-12));
        assertThat(s.totalOutputTokens()).isEqualTo(3 + 3 + 3 + 1);
        assertThat(s.outputTokenThroughput()).isCloseTo(10 / 2.0, within(1e-12));
        assertThat(s.totalTokenThroughput()).isCloseTo((40 + 10) / 2.0, within(1e-12));
        // TTFT over completed: {0.1, 0.3, 0.1, 0.15}; p90 by linear interpolation = 0.15 + 0.7 * (0.3 - 0.15)
        assertThat(s.ttft().p(90)).isCloseTo(0.255, within(1e-12));
        assertThat(s.slo().get("ttft").value()).isCloseTo(0.255, within(1e-12));
        assertThat(s.slo().get("ttft").met()).isFalse();
        assertThat(s.slo().get("ttft").attainment()).isCloseTo(0.75, within(1e-12));
        assertThat(s.tpot().count()).isEqualTo(3);
        assertThat(s.slo().get("tpot").attainment()).isCloseTo(0.75, within(1e-12));
        // ITL gaps: 0.02, 0.02, 0.02, 0.02, 0.1, 0.1 -> TBT = mean of the slowest ceil(10%) = 1 gap
        assertThat(s.itl().count()).isEqualTo(6);
        assertThat(s.tbt()).isCloseTo(0.1, within(1e-12));
    }

    @Test
    void tbtIsMeanOfSlowestTenth() {
        double[] gaps = new double[100];
        for (int i = 0; i < 100; i++) gaps[i] = i + 1;
        assertThat(Summary.tbt(gaps)).isCloseTo((91 + 100) / 2.0, within(1e-12));
        assertThat(Summary.tbt(new double[0])).isNaN();
    }

    @Test
    void noCompletedRequest() {
        Summary s = Summary.of(List.of(failed(0, "connect_error")), 1.0, Slo.DEFAULT, PS);
        assertThat(s.completed()).isZero();
        assertThat(s.ttft().mean()).isNaN();
        assertThat(s.sloAttainment()).isZero();
        assertThat(s.slo().get("ttft").met()).isFalse();
    }

    @Test
    void sloParsing() {
        assertThat(Slo.DEFAULT.thresholds()).containsEntry("ttft", 0.4).containsEntry("tpot", 0.04);
        assertThat(Slo.DEFAULT.percentile()).isEqualTo(90);
        Slo s = Slo.parse(" TTFT=1.5, e2el=20 ", 99);
        assertThat(s.thresholds()).containsEntry("ttft", 1.5).containsEntry("e2el", 20.0);
        assertThat(s.meets(1.5, 100, 20)).isTrue();
        assertThat(s.meets(1.6, 0, 1)).isFalse();
        assertThatThrownBy(() -> Slo.parse("ttft", 90)).hasMessageContaining("metric=seconds");
        assertThatThrownBy(() -> Slo.parse("latency=1", 90)).hasMessageContaining("ttft, tpot, e2el");
        assertThatThrownBy(() -> Slo.parse("ttft=abc", 90)).hasMessageContaining("not a number");
        assertThatThrownBy(() -> Slo.parse("ttft=-1", 90)).hasMessageContaining("> 0");
        assertThatThrownBy(() -> Slo.parse("ttft=1", 0)).hasMessageContaining("percentile");
    }
}
