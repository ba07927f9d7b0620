package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code baton bench kv --json}: the documented tests and ratios are there (speed itself is not asserted). */
class BenchKvCommandTest {
    @Test
    void jsonHasTheRatios() throws Exception {
        CliRunner.Result r = CliRunner.run("bench", "kv", "--tokens", "64,8192", "--repetitions", "1", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(r.out());
        assertThat(arr.findValuesAsText("test")).contains("inprocess_vs_memcpy", "tcp_vs_memcpy");
        for (JsonNode o : arr) {
            assertThat(o.get("value").asDouble()).isPositive();
            assertThat(o.get("unit").asText()).isNotBlank();
        }
        assertThat(CliRunner.run("bench", "kv", "--tokens", "0").exit()).isEqualTo(1);
    }
}
