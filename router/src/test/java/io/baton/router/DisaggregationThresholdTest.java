package io.baton.router;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.worker.PrefillProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Conditional disaggregation's measured threshold: the formula, the probe, and {@code serve}'s auto default. */
@Timeout(120)
class DisaggregationThresholdTest {

    @Test
    void thresholdIsWhatTheDecodeWorkerPrefillsWithinTheTpotObjective() {
        assertThat(DisaggregatedFlow.thresholdFor(1000, 0.04)).isEqualTo(40);
        assertThat(DisaggregatedFlow.thresholdFor(70, 0.04)).isEqualTo(2); // 2.8 tokens: a third does not fit
        assertThat(DisaggregatedFlow.thresholdFor(10, 0.04)).isZero();     // slow decode worker: always disaggregate
        assertThat(DisaggregatedFlow.thresholdFor(1e12, 1)).isEqualTo(Integer.MAX_VALUE);
        assertThatThrownBy(() -> DisaggregatedFlow.thresholdFor(0, 0.04)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DisaggregatedFlow.thresholdFor(100, Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void autoDerivesEachRequestsThresholdFromItsDecodeWorker() {
        WorkerInfo fast = new WorkerInfo("d0", io.baton.worker.scheduler.Role.DECODE, true, 0, 0, 0, 10, 16, 0, 2500);
        WorkerInfo slow = new WorkerInfo("d1", io.baton.worker.scheduler.Role.DECODE, true, 0, 0, 0, 10, 16, 0, 20);
        WorkerInfo unmeasured = new WorkerInfo("d2", io.baton.worker.scheduler.Role.DECODE, true, 0, 0, 0, 10, 16, 0);
        DisaggregatedFlow auto = new DisaggregatedFlow(DisaggregatedFlow.AUTO);
        assertThat(auto.thresholdFor(fast)).isEqualTo(100);
        assertThat(auto.thresholdFor(slow)).isZero();
        assertThat(auto.thresholdFor(unmeasured)).isEqualTo(DisaggregatedFlow.DEFAULT_MIN_PROMPT_TOKENS);
        DisaggregatedFlow fixed = new DisaggregatedFlow(7);
        assertThat(fixed.thresholdFor(fast)).isEqualTo(7);
        assertThat(fixed.thresholdFor(unmeasured)).isEqualTo(7);
        assertThatThrownBy(() -> new DisaggregatedFlow(-5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void probeMeasuresAPositivePrefillSpeed() {
        try (Model m = Model.load(Fixtures.model("stories260K.gguf"), 1)) {
            double speed = PrefillProbe.tokensPerSecond(m);
            assertThat(speed).isFinite().isPositive();
        }
    }

    @Test
    void serveMeasuresItsThresholdByDefault() {
        EmbeddedServer.Options auto = EmbeddedServer.Options.defaults();
        assertThat(auto.minPromptTokens()).isEqualTo(DisaggregatedFlow.AUTO);
        EmbeddedServer.Options o = new EmbeddedServer.Options(null, null, 16L << 20, RouterConfig.defaults().withPort(0),
                EmbeddedServer.Mode.DISAGGREGATED, 1, DisaggregatedFlow.AUTO);
        try (EmbeddedServer server = EmbeddedServer.start(Fixtures.model("stories260K.gguf"), 1, o)) {
            WorkerInfo decode = server.workers().get(1).info();
            assertThat(decode.roleName()).isEqualTo("decode");
            assertThat(decode.prefillTokensPerSecond()).isPositive();
            assertThat(server.disaggregationThreshold())
                    .isEqualTo(DisaggregatedFlow.thresholdFor(decode.prefillTokensPerSecond(), DisaggregatedFlow.DEFAULT_TPOT_SLO_SECONDS));
        }
        EmbeddedServer.Options fixed = new EmbeddedServer.Options(null, null, 16L << 20, RouterConfig.defaults().withPort(0),
                EmbeddedServer.Mode.DISAGGREGATED, 1, 5);
        try (EmbeddedServer server = EmbeddedServer.start(Fixtures.model("stories260K.gguf"), 1, fixed)) {
            assertThat(server.disaggregationThreshold()).isEqualTo(5);
        }
        assertThatThrownBy(() -> new EmbeddedServer.Options(null, null, 0, RouterConfig.defaults(), EmbeddedServer.Mode.DISAGGREGATED, 1, -2))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
