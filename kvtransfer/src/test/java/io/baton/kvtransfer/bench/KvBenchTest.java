package io.baton.kvtransfer.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark runs end to end on small sizes and prints the JSON the lead's {@code baton bench kv --json} relays. */
class KvBenchTest {
    @Test
    void standardSetPrintsEveryRequiredName() throws Exception {
        List<KvBench.Result> r = new KvBench(1).standard(new int[] {64});
        JsonNode json = new ObjectMapper().readTree(KvBench.json(r));
        assertThat(json.isArray()).isTrue();
        List<String> names = json.findValuesAsText("test");
        assertThat(names).contains("inprocess_vs_memcpy", "tcp_vs_memcpy", "memcpy_qwen2.5-0.5b_64", "tcp_llama-3.2-1b_64",
                "inprocess_qwen2.5-0.5b_64", "tcp_int8_qwen2.5-0.5b_64", "tcp_raw_socket_llama-3.2-1b_64",
                "inprocess_runs_qwen2.5-0.5b_64", "tcp_runs_llama-3.2-1b_64", "inprocess_runs_vs_memcpy", "tcp_runs_vs_memcpy");
        for (JsonNode n : json) {
            assertThat(n.get("value").asDouble()).as(n.get("test").asText()).isPositive();
            assertThat(n.get("unit").asText()).isIn("GB/s", "ratio");
        }
    }

    @Test
    void ttftOverheadRunsOnARealModel() {
        try (Model m = Model.load(Fixtures.model("stories260K.gguf"), 1)) {
            KvBench b = new KvBench(1);
            KvBench.Ttft layerWise = b.ttftOverhead(m.transformer(), 64, 32, true);
            KvBench.Ttft whole = b.ttftOverhead(m.transformer(), 64, 32, false);
            assertThat(layerWise.overhead()).isFinite().isGreaterThan(-1);
            assertThat(whole.exposedTail()).isFinite().isGreaterThanOrEqualTo(0);
            assertThat(layerWise.exposedTail()).isGreaterThanOrEqualTo(0);
            assertThat(b.ttft(m.transformer(), 32)).extracting(KvBench.Result::test)
                    .containsExactly("ttft_overhead_512", "ttft_overhead_512_whole", "ttft_tail_512", "ttft_tail_512_whole");
        }
    }
}
