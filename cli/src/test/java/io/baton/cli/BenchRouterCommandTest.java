package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code baton bench router} end to end: the real router and scripted workers, the real benchmark client, real sockets.
 * Only correctness is checked (every stream completes, every token is matched, numbers are sane), never speed.
 */
@Timeout(180)
class BenchRouterCommandTest {
    static final String MODEL = Fixtures.model("qwen2-tiny-Q8_0.gguf").toString();

    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s);
    }

    /** What any successful run must show, whatever the machine's speed. */
    static void assertSane(JsonNode j, int streams, int tokens) {
        assertThat(j.get("completed").asInt()).as(j.toString()).isEqualTo(streams);
        assertThat(j.get("failed").asInt()).isZero();
        assertThat(j.get("errors").size()).isZero();
        assertThat(j.get("tokens_expected").asLong()).isEqualTo((long) streams * tokens);
        assertThat(j.get("tokens_matched").asLong()).isEqualTo((long) streams * tokens);
        JsonNode o = j.get("overhead");
        assertThat(o.get("count").asLong()).isEqualTo((long) streams * tokens);
        // Each value is an arrival minus a hand-over on one clock: never negative, and far below the run's length.
        assertThat(o.get("min").asDouble()).isGreaterThanOrEqualTo(0);
        assertThat(o.get("p50").asDouble()).isBetween(o.get("min").asDouble(), o.get("p99").asDouble());
        assertThat(o.get("p99").asDouble()).isLessThanOrEqualTo(o.get("max").asDouble());
        assertThat(o.get("max").asDouble()).isLessThan(j.get("duration").asDouble());
        assertThat(j.get("tokens_per_second").asDouble()).isPositive();
        JsonNode cpu = j.get("router_cpu");
        // Every kind of router thread was found by its name and did some work.
        assertThat(cpu.get("event_loop_seconds").asDouble()).isPositive();
        assertThat(cpu.get("prepare_seconds").asDouble()).isPositive();
        assertThat(cpu.get("worker_seconds").asDouble()).isPositive();
        assertThat(cpu.get("router_us_per_token").asDouble()).isPositive();
        assertThat(cpu.get("event_loops").asInt()).isEqualTo(1);
    }

    @Test
    void inProcessFiftyStreamsOfTwentyTokensAllMatch(@TempDir Path dir) throws Exception {
        CliRunner.Result r = CliRunner.run("bench", "router", "--model", MODEL, "--in-process", "--streams", "50", "--tokens", "20",
                "--itl-ms", "5", "--ttft-ms", "5", "--ramp", "0.05", "--warmup", "0", "--progress", "off", "--json", "--out", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = json(r.out());
        assertSane(j, 50, 20);
        assertThat(j.at("/config/mode").asText()).isEqualTo("in-process");
        // In one JVM the process total would include the client: not reported.
        assertThat(j.at("/router_cpu/process_seconds").isNull()).isTrue();
        assertThat(json(java.nio.file.Files.readString(dir.resolve("result.json"))).get("tokens_matched").asLong()).isEqualTo(1000);
    }

    @Test
    void childProcessRouterReportsItsWholeProcessCpuAndPrintsASummary() {
        CliRunner.Result r = CliRunner.run("bench", "router", "--model", MODEL, "--streams", "20", "--tokens", "10",
                "--itl-ms", "5", "--ttft-ms", "5", "--ramp", "0.02", "--warmup", "1", "--progress", "off");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Router overhead: 20 concurrent streams x 10 tokens").contains("streams: 20 completed, 0 failed")
                .contains("tokens: 200 of 200 matched").contains("overhead per token").contains("whole process");
    }

    @Test
    void childProcessBatchedWorkersJson() throws Exception {
        CliRunner.Result r = CliRunner.run("bench", "router", "--model", MODEL, "--streams", "30", "--tokens", "8",
                "--itl-ms", "5", "--ttft-ms", "2", "--ramp", "0.03", "--warmup", "0", "--batched", "--workers", "2",
                "--progress", "off", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = json(r.out());
        assertSane(j, 30, 8);
        assertThat(j.at("/config/mode").asText()).isEqualTo("child-process");
        assertThat(j.at("/config/batched").asBoolean()).isTrue();
        assertThat(j.at("/router_cpu/process_seconds").asDouble()).isPositive();
    }

    @Test
    void badInputGetsOneLine() {
        CliRunner.Result r = CliRunner.run("bench", "router", "--model", MODEL, "--streams", "0", "--in-process");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench router: --streams must be >= 1, got 0");
        r = CliRunner.run("bench", "router", "--in-process");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench router: --model FILE is required (the router's tokenizer and chat template)");
        r = CliRunner.run("bench", "router", "--model", "/nonexistent.gguf", "--in-process");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench router: --model: no such file /nonexistent.gguf");
        r = CliRunner.run("bench", "router", "--model", MODEL, "--router-cpus", "0;rm", "--progress", "off");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench router: --router-cpus must be a CPU list like 0 or 0-1,4, got '0;rm'");
        r = CliRunner.run("bench", "router", "--url", "http://127.0.0.1:1", "--in-process");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("baton bench router: --url runs only the client");
    }

    @Test
    void aModelWithoutChatTemplateIsRefusedInEitherMode() {
        String noTemplate = Fixtures.model("stories260K.gguf").toString();
        CliRunner.Result r = CliRunner.run("bench", "router", "--model", noTemplate, "--in-process", "--progress", "off");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("baton bench router: ").contains("has no chat template").doesNotContain("\n");
        r = CliRunner.run("bench", "router", "--model", noTemplate, "--progress", "off");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("baton bench router: the router process did not start: ").contains("has no chat template")
                .doesNotContain("\n");
    }

    @Test
    void urlModeFailsClearlyWhenNothingListens() {
        CliRunner.Result r = CliRunner.run("bench", "router", "--url", "http://127.0.0.1:1", "--streams", "2", "--progress", "off", "--timeout", "5");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("baton bench router: the check stream to http://127.0.0.1:1/v1/chat/completions failed: connect_error");
    }
}
