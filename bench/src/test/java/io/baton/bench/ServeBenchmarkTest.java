package io.baton.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.bench.client.Endpoint;
import io.baton.bench.data.DatasetOptions;
import io.baton.bench.fake.ScriptedServer;
import io.baton.bench.fake.ScriptedServer.Script;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.Slo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** {@code bench serve} end to end against the scripted server: a sweep, its files and their schema. */
@Timeout(120)
public class ServeBenchmarkTest {
    static ServeBenchmark.Options options(String url, Path out, List<Double> rates, DatasetOptions d) {
        return new ServeBenchmark.Options(url, "fake-model", Endpoint.CHAT, d, null, rates, 1.0, 0, 0, 1.0, true, null, null,
                Slo.parse("ttft=0.2,tpot=0.04", 90), Distribution.DEFAULT_PERCENTILES, out, Map.of(), 30, 1, "off", true, false,
                io.baton.bench.run.LoopPriority.AUTO);
    }

    /** Runs a two-rate sweep of 24 random prompts; every 4th request fails with HTTP 429 (index 0 is the check's). */
    public static ServeBenchmark.Outcome sweep(Path out) throws Exception {
        try (ScriptedServer server = ScriptedServer.start(1, i -> i % 4 == 3 ? Script.httpError(429)
                : i % 4 == 2 ? Script.stream(250, 15, -1) : Script.stream(30, 15, -1))) {
            DatasetOptions d = DatasetOptions.defaults("random").withNumPrompts(24).withRandom(40, 6, 0.5, 0);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            return ServeBenchmark.run(options(server.url(), out, List.of(40.0, Double.POSITIVE_INFINITY), d),
                    new PrintWriter(new java.io.OutputStreamWriter(text, StandardCharsets.UTF_8), true), new PrintWriter(System.err, true));
        }
    }

    @Test
    void sweepWritesResultJsonWithTheDocumentedSchema(@TempDir Path dir) throws Exception {
        ServeBenchmark.Outcome o = sweep(dir);
        assertThat(o.runs()).hasSize(2);
        assertThat(dir.resolve("result-rate-40.json")).isRegularFile();
        assertThat(dir.resolve("result-rate-inf.json")).isRegularFile();
        assertThat(o.reportHtml()).isRegularFile();
        JsonNode j = new ObjectMapper().readTree(o.resultJson().toFile());
        assertThat(j.get("schema_version").asInt()).isEqualTo(1);
        assertThat(j.get("request_rate").asText()).isEqualTo("inf");
        assertThat(j.at("/config/dataset").asText()).isEqualTo("random");
        assertThat(j.at("/config/request_rate").isArray()).isTrue();
        // the loop priority auto chose, not "auto": short-slice on Linux 6.12+, else normal
        assertThat(j.at("/config/loop_priority").asText()).isIn("short-slice", "normal");
        JsonNode s = j.get("summary");
        for (String m : List.of("ttft", "tpot", "itl", "e2el")) {
            for (String k : List.of("mean", "p50", "p90", "p99")) assertThat(s.at("/" + m + "/" + k).isNumber()).as(m + "." + k).isTrue();
        }
        assertThat(s.get("completed").asInt()).isEqualTo(18);
        assertThat(s.get("failed").asInt()).isEqualTo(6);
        assertThat(s.at("/errors/http_429").asInt()).isEqualTo(6);
        for (String k : List.of("duration", "request_throughput", "output_token_throughput", "total_token_throughput", "goodput", "slo_attainment", "tbt")) {
            assertThat(s.get(k).isNumber()).as(k).isTrue();
        }
        // 12 of 24 requests are fast and succeed; 6 are slow (TTFT 250 ms > 200 ms); 6 fail
        assertThat(s.get("slo_attainment").asDouble()).isCloseTo(0.5, within(1e-12));
        assertThat(s.at("/slo/ttft/threshold").asDouble()).isEqualTo(0.2);
        assertThat(s.at("/slo/percentile").asDouble()).isEqualTo(90);
        assertThat(j.at("/client/loop_lag/p99").isNumber()).isTrue();
        assertThat(j.get("sweep")).hasSize(2);
        assertThat(j.at("/sweep/0/request_rate").asDouble()).isEqualTo(40);
        JsonNode reqs = j.get("requests");
        assertThat(reqs).hasSize(24);
        for (JsonNode r : reqs) {
            assertThat(r.get("send_time").isNumber()).isTrue();
            assertThat(r.get("input_tokens").asInt()).isBetween(20, 60);
            if (r.get("index").asInt() % 4 == 3) {
                assertThat(r.at("/error/code").asText()).isEqualTo("http_429");
                assertThat(r.get("ttft").isNull()).isTrue();
            } else {
                assertThat(r.get("error").isNull()).isTrue();
                assertThat(r.get("token_times")).hasSize(r.get("requested_output_tokens").asInt());
                assertThat(r.get("output_tokens").asInt()).isEqualTo(r.get("requested_output_tokens").asInt());
                assertThat(r.get("ttft").asDouble()).isCloseTo(r.at("/token_times/0").asDouble() - r.get("send_time").asDouble(), within(2e-6));
            }
        }
        String html = Files.readString(o.reportHtml());
        assertThat(html).doesNotContain("{{").doesNotContain("<script src").doesNotContain("<link").doesNotContain("@import");
    }

    @Test
    void endpointCheckStopsAWrongSetupWithOneLine(@TempDir Path dir) throws Exception {
        try (ScriptedServer server = ScriptedServer.start(1, i -> Script.httpError(404))) {
            DatasetOptions d = DatasetOptions.defaults("random").withNumPrompts(3).withRandom(8, 2, 0, 0);
            assertThatThrownBy(() -> ServeBenchmark.run(options(server.url(), dir, List.of(1.0), d), new PrintWriter(System.out, true), new PrintWriter(System.err, true)))
                    .isInstanceOf(ServeBenchmark.EndpointException.class)
                    .hasMessageStartingWith("endpoint check failed (" + server.url() + "/v1/chat/completions): http_404");
        }
    }

    @Test
    void mooncakeTraceReplaysItsTimestamps(@TempDir Path dir) throws Exception {
        Path trace = SharedData.file("mooncake/synthetic_trace.jsonl");
        try (ScriptedServer server = ScriptedServer.start(1, i -> Script.stream(5, 2, -1))) {
            DatasetOptions d = new DatasetOptions("mooncake", trace, 12, 0, 0, 0, 0, 0, 0, 256, 0, 1.0 / 64, 0.05, 0, 0, 1, 1);
            ServeBenchmark.Outcome o = ServeBenchmark.run(options(server.url(), dir, List.of(Double.NaN), d)
                    , new PrintWriter(new ByteArrayOutputStream(), true), new PrintWriter(System.err, true));
            var lines = io.baton.bench.data.MooncakeDataset.read(trace, 0, 12);
            var results = o.runs().getFirst().run().results();
            for (int i = 0; i < 12; i++) {
                double expected = (lines.get(i).timestampMs() - lines.getFirst().timestampMs()) / 1000.0;
                assertThat(results.get(i).scheduledTime()).isCloseTo(expected, within(1e-9));
                assertThat(results.get(i).ok()).isTrue();
            }
            JsonNode j = new ObjectMapper().readTree(o.resultJson().toFile());
            assertThat(j.get("request_rate").asText()).isEqualTo("trace");
        }
    }
}
