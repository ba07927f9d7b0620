package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code baton bench engine --json}: the documented shape, one object per test (speed itself is not asserted). */
class BenchEngineCommandTest {
    @Test
    void jsonHasOneObjectPerTest() throws Exception {
        CliRunner.Result r = CliRunner.run("bench", "engine", "--model", Fixtures.model("stories260K.gguf").toString(), "--threads", "1",
                "--prompt", "16,64", "--gen", "8", "--batch", "1,4", "--prefix-hit", "0.5", "--repetitions", "2", "--roofline", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(r.out());
        assertThat(arr).hasSize(9);
        assertThat(arr.findValuesAsText("test")).containsExactly("pp16", "pp16_hit50", "pp64", "pp64_hit50", "tg8", "tg_roof", "batch1", "batch4", "batch_roof");
        for (JsonNode o : arr) {
            assertThat(o.get("tokens_per_second").asDouble()).isPositive();
            assertThat(o.get("stddev").asDouble()).isGreaterThanOrEqualTo(0);
            assertThat(o.get("threads").asInt()).isEqualTo(1);
            assertThat(o.get("type").asText()).isEqualTo("F32");
        }
        CliRunner.Result bad = CliRunner.run("bench", "engine", "--model", Fixtures.model("stories260K.gguf").toString(), "--batch", "0");
        assertThat(bad.exit()).isEqualTo(1);
    }
}
