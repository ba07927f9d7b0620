package io.baton.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code baton serve} end to end on a real socket: the embedded server on stories260K (a trained model), real HTTP
 * clients, greedy outputs compared with the engine run alone.
 */
@Timeout(120)
class ServeTest {
    static final String MODEL = "stories260K";
    static final long BODY_LIMIT = 64 * 1024;
    static EmbeddedServer server;
    static Model reference;
    static Http http;

    @BeforeAll
    static void start() {
        RouterConfig cfg = RouterConfig.defaults().withPort(0).withMaxBodyBytes(BODY_LIMIT);
        server = EmbeddedServer.start(Fixtures.model(MODEL + ".gguf"), 2, new EmbeddedServer.Options(null, null, 0, cfg));
        reference = Model.load(Fixtures.model(MODEL + ".gguf"), 1);
        http = new Http(server.url());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (reference != null) reference.close();
    }

    static String completion(String prompt, int maxTokens, boolean stream, String extra) {
        return "{\"model\":\"" + MODEL + "\",\"prompt\":" + OpenAiJson.quote(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":" + stream + extra + "}";
    }

    static Greedy.Result greedy(String prompt, int maxTokens) {
        return Greedy.run(reference, reference.tokenizer().encode(prompt, true, false), maxTokens);
    }

    @Test
    void nonStreamingCompletionEqualsTheGreedyEngineRun() {
        HttpResponse<String> r = http.post("/v1/completions", completion("Once upon a time", 40, false, ""));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode j = Http.json(r.body());
        Greedy.Result ref = greedy("Once upon a time", 40);
        assertThat(ref.text()).isNotBlank();
        assertThat(j.get("id").asText()).startsWith("cmpl-");
        assertThat(j.get("object").asText()).isEqualTo("text_completion");
        assertThat(j.get("model").asText()).isEqualTo(MODEL);
        assertThat(j.get("created").asLong()).isGreaterThan(1_600_000_000L);
        JsonNode c = j.get("choices").get(0);
        assertThat(c.get("text").asText()).isEqualTo(ref.text());
        assertThat(c.get("finish_reason").asText()).isEqualTo(ref.finishReason());
        int promptTokens = reference.tokenizer().encode("Once upon a time", true, false).length;
        assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(ref.completionTokens());
        assertThat(j.at("/usage/total_tokens").asInt()).isEqualTo(promptTokens + ref.completionTokens());
    }

    @Test
    void streamingCompletionIsFramedAsServerSentEventsWithUsageLast() {
        HttpResponse<String> r = http.post("/v1/completions",
                completion("The little dog", 30, true, ",\"stream_options\":{\"include_usage\":true}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        List<String> events = Http.events(r.body());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Http::json).toList();
        StringBuilder text = new StringBuilder();
        String finish = null;
        String id = chunks.getFirst().get("id").asText();
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            assertThat(c.get("id").asText()).isEqualTo(id);
            assertThat(c.get("object").asText()).isEqualTo("text_completion");
            assertThat(c.has("usage")).isTrue();
            assertThat(c.get("usage").isNull()).isTrue();
            assertThat(finish).as("nothing after the finish chunk but usage").isNull();
            text.append(c.at("/choices/0/text").asText());
            if (!c.at("/choices/0/finish_reason").isNull()) finish = c.at("/choices/0/finish_reason").asText();
        }
        Greedy.Result ref = greedy("The little dog", 30);
        assertThat(text.toString()).isEqualTo(ref.text());
        assertThat(finish).isEqualTo(ref.finishReason());
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(ref.completionTokens());
        assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(usage.at("/usage/prompt_tokens").asInt() + ref.completionTokens());
    }

    @Test
    void streamingWithoutIncludeUsageHasNoUsage() {
        HttpResponse<String> r = http.post("/v1/completions", completion("A cat", 8, true, ""));
        List<String> events = Http.events(r.body());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        for (String e : events.subList(0, events.size() - 1)) assertThat(Http.json(e).has("usage")).as(e).isFalse();
    }

    @Test
    void requestIdIsEchoedOrGenerated() {
        HttpResponse<String> given = http.post("/v1/completions", completion("Hi", 2, false, ""), "X-Request-Id", "trace-42.abc");
        assertThat(given.headers().firstValue("X-Request-Id")).hasValue("trace-42.abc");
        HttpResponse<String> generated = http.post("/v1/completions", completion("Hi", 2, false, ""));
        assertThat(generated.headers().firstValue("X-Request-Id")).hasValueSatisfying(v -> assertThat(v).matches("[0-9a-f]{32}"));
        HttpResponse<String> onError = http.post("/v1/completions", "{", "X-Request-Id", "err-1");
        assertThat(onError.headers().firstValue("X-Request-Id")).hasValue("err-1");
        HttpResponse<String> bad = http.post("/v1/completions", completion("Hi", 2, false, ""), "X-Request-Id", "x".repeat(300));
        assertError(bad, 400, null);
        assertThat(bad.headers().firstValue("X-Request-Id")).hasValueSatisfying(v -> assertThat(v).matches("[0-9a-f]{32}"));
    }

    static JsonNode assertError(HttpResponse<String> r, int status, String param) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = Http.json(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isNotBlank();
        assertThat(e.has("param")).isTrue();
        assertThat(e.has("code")).isTrue();
        if (param != null) assertThat(e.get("param").asText()).isEqualTo(param);
        return e;
    }

    @Test
    void badInputGetsOpenAiErrors() {
        assertError(http.post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": "), 400, null);
        assertError(http.post("/v1/completions", "[1, 2]"), 400, null);
        assertError(http.post("/v1/completions", "{\"prompt\": \"x\"}"), 400, "model");
        assertError(http.post("/v1/completions", "{\"model\": \"stories260K\"}"), 400, "prompt");
        assertError(http.post("/v1/completions", completion("x", 4, false, ",\"top_p\":\"high\"").replace("\"temperature\":0,", "")), 400, "top_p");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"temperature\":\"hot\"}"), 400, "temperature");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"temperature\":-1}"), 400, "temperature");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"stream\":\"yes\"}"), 400, "stream");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"stop\":[1]}"), 400, "stop");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"seed\":1.5}"), 400, "seed");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":[\"a\",\"b\"]}"), 400, "prompt");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":[1, 99999]}"), 400, "prompt");
        assertError(http.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}"), 400, "stream_options");
        // max_tokens out of range: below 1, and past the context window.
        assertError(http.post("/v1/completions", completion("x", 0, false, "")), 400, "max_tokens");
        assertError(http.post("/v1/completions", completion("x", 100_000, false, "")), 400, "max_tokens");
        // A prompt longer than the context (stories260K: 512 tokens).
        assertError(http.post("/v1/completions", completion("the cat sat on the mat. ".repeat(200), 4, false, "")), 400, "prompt");
        // Unsupported features are refused, not ignored.
        assertError(http.post("/v1/completions", completion("x", 4, false, ",\"n\":2")), 400, "n");
        assertError(http.post("/v1/completions", completion("x", 4, false, ",\"logprobs\":6")), 400, "logprobs");
        assertError(http.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_logprobs\":2}"), 400, "top_logprobs");
        assertError(http.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[]}"), 400, "messages");
        assertError(http.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}"), 400, "messages[0].role");
        // stories260K has no chat template.
        JsonNode noTemplate = assertError(http.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 400, "messages");
        assertThat(noTemplate.get("message").asText()).contains("chat template");
        // Unknown model: 404.
        JsonNode nf = assertError(http.post("/v1/completions", "{\"model\":\"gpt-4\",\"prompt\":\"x\"}"), 404, "model");
        assertThat(nf.get("code").asText()).isEqualTo("model_not_found");
        assertError(http.get("/v1/models/gpt-4"), 404, "model");
        // Body too large: 413, both with a Content-Length and when it only shows while reading.
        HttpResponse<String> big = http.post("/v1/completions", completion("a".repeat((int) BODY_LIMIT), 4, false, ""));
        assertThat(assertError(big, 413, null).get("code").asText()).isEqualTo("request_too_large");
        // Wrong method and unknown path.
        assertError(http.get("/v1/completions"), 405, null);
        assertError(http.get("/v2/nothing"), 404, null);
    }

    @Test
    void the413IsNeverLostToAResetWhileTheClientIsStillSending() {
        // Without a lingering close the server closed the socket with the body unread, the kernel answered the
        // client's next bytes with RST and the 413 was lost ("header parser received no bytes") in ~1 of 4 tries.
        for (int i = 0; i < 30; i++) {
            for (long size : new long[] {BODY_LIMIT, 4 * BODY_LIMIT, 64 * BODY_LIMIT}) {
                HttpResponse<String> r = http.post("/v1/completions", completion("a".repeat((int) size), 4, false, ""));
                assertError(r, 413, null);
            }
        }
    }

    @Test
    void bodyTooLargeWithoutContentLengthIsRefusedWhileReading() {
        // A streamed (chunked) body has no Content-Length: the limit is enforced as the bytes arrive.
        byte[] chunk = new byte[8192];
        java.util.Arrays.fill(chunk, (byte) ' ');
        var publisher = java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.SequenceInputStream(
                new java.io.ByteArrayInputStream("{\"model\":\"stories260K\",\"prompt\":\"x\"".getBytes()),
                new java.io.InputStream() {
                    long left = 4 * BODY_LIMIT;

                    @Override
                    public int read() {
                        return left-- > 0 ? ' ' : -1;
                    }
                }));
        HttpResponse<String> r;
        try {
            r = http.send(http.request("/v1/completions").POST(publisher).build());
        } catch (java.io.UncheckedIOException e) {
            // The server may close the connection before the client finished sending; that is a refusal too, but the
            // JDK client then cannot read the response. Accept only the 413 path as a pass.
            throw new AssertionError("connection closed before the 413 could be read", e);
        }
        assertError(r, 413, null);
    }

    @Test
    void modelsAndHealth() {
        JsonNode models = Http.json(http.get("/v1/models").body());
        assertThat(models.get("object").asText()).isEqualTo("list");
        assertThat(models.at("/data/0/id").asText()).isEqualTo(MODEL);
        assertThat(models.at("/data/0/object").asText()).isEqualTo("model");
        assertThat(Http.json(http.get("/v1/models/" + MODEL).body()).get("id").asText()).isEqualTo(MODEL);
        HttpResponse<String> h = http.get("/health");
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(Http.json(h.body()).get("status").asText()).isEqualTo("ok");
    }

    @Test
    void sixtyFourConcurrentStreamsAllGetTheirGreedyText() {
        List<String> prompts = List.of("Once upon a time", "The little girl", "Tom and his dog", "One day, a bird",
                "The sun was", "Lily wanted to", "In the park", "A big red ball");
        Map<String, Greedy.Result> expected = new HashMap<>();
        for (String p : prompts) expected.put(p, greedy(p, 48));
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String p = prompts.get(i % prompts.size());
            sent.add(p);
            futures.add(http.postAsync("/v1/completions", completion(p, 48, true, ",\"stream_options\":{\"include_usage\":true}")));
        }
        for (int i = 0; i < 64; i++) {
            HttpResponse<String> r = futures.get(i).join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            List<String> events = Http.events(r.body());
            assertThat(events.getLast()).isEqualTo("[DONE]");
            StringBuilder text = new StringBuilder();
            for (String e : events.subList(0, events.size() - 2)) text.append(Http.json(e).at("/choices/0/text").asText());
            assertThat(text.toString()).as("stream %d (%s)", i, sent.get(i)).isEqualTo(expected.get(sent.get(i)).text());
        }
        // Every KV block is free again (read from /metrics, which refreshes the worker's numbers).
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String m = http.get("/metrics").body();
            assertThat(Http.sample(m, "baton_kv_blocks_used{role=\"colocated\",worker=\"colocated-0\"}")).isZero();
            assertThat(Http.sample(m, "baton_running_requests{role=\"colocated\",worker=\"colocated-0\"}")).isZero();
            assertThat(Http.sample(m, "baton_router_requests_in_flight")).isZero();
        });
    }

    @Test
    void metricsExposeLatenciesOutcomesWorkersAndRouting() {
        http.post("/v1/completions", completion("Once upon a time", 5, true, ""));
        http.post("/v1/completions", completion("x", 0, false, ""));
        HttpResponse<String> r = http.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        String m = r.body();
        String model = "model=\"" + MODEL + "\"";
        assertThat(Http.sample(m, "baton_time_to_first_token_seconds_count{" + model + ",role=\"colocated\"}")).isGreaterThanOrEqualTo(1);
        assertThat(Http.sample(m, "baton_inter_token_latency_seconds_count{" + model + ",role=\"colocated\"}")).isGreaterThanOrEqualTo(4);
        assertThat(Http.sample(m, "baton_time_per_output_token_seconds_count{" + model + "}")).isGreaterThanOrEqualTo(1);
        assertThat(Http.sample(m, "baton_e2e_request_latency_seconds_count{" + model + "}")).isGreaterThanOrEqualTo(1);
        assertThat(Http.sample(m, "baton_request_queue_seconds_count{" + model + ",role=\"router\"}")).isGreaterThanOrEqualTo(1);
        assertThat(m).contains("baton_time_to_first_token_seconds_bucket{" + model + ",role=\"colocated\",le=\"0.001\"}");
        assertThat(Http.sample(m, "baton_requests_total{" + model + ",outcome=\"length\"}")).isGreaterThanOrEqualTo(1);
        assertThat(Http.sample(m, "baton_requests_total{" + model + ",outcome=\"invalid\"}")).isGreaterThanOrEqualTo(1);
        assertThat(Http.sample(m, "baton_worker_up{role=\"colocated\",worker=\"colocated-0\"}")).isEqualTo(1);
        assertThat(Http.sample(m, "baton_kv_blocks_free{role=\"colocated\",worker=\"colocated-0\"}")).isGreaterThan(0);
        assertThat(Http.sample(m, "baton_waiting_requests{role=\"colocated\",worker=\"colocated-0\"}")).isZero();
        double routed = Http.sample(m, "baton_routing_decisions_total{policy=\"cache-aware\",reason=\"least-cost\"}");
        double hits = Http.sample(m, "baton_routing_decisions_total{policy=\"cache-aware\",reason=\"prefix-hit\"}");
        assertThat((Double.isNaN(routed) ? 0 : routed) + (Double.isNaN(hits) ? 0 : hits)).isGreaterThanOrEqualTo(1);
        // OpenMetrics on request, with X-Request-Ids as exemplars (sampled by the client library: one per bucket,
        // replaced at most every few seconds, so which request's id shows is not fixed).
        String om = http.get("/metrics", "Accept", "application/openmetrics-text; version=1.0.0").body();
        assertThat(om).containsPattern("baton_e2e_request_latency_seconds_bucket\\{[^}]*\\} \\d+ # \\{request_id=\"[!-~]+\"\\}")
                .endsWith("# EOF\n");
    }

    @Test
    void prefixSharingRequestsAreRoutedAsPrefixHits() {
        String longPrompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. ".repeat(2);
        http.post("/v1/completions", completion(longPrompt, 2, false, ""));
        HttpResponse<String> r = http.post("/v1/completions", completion(longPrompt + "One day", 2, false, ""));
        assertThat(r.statusCode()).isEqualTo(200);
        String m = http.get("/metrics").body();
        assertThat(Http.sample(m, "baton_routing_decisions_total{policy=\"cache-aware\",reason=\"prefix-hit\"}")).isGreaterThanOrEqualTo(1);
        assertThat(server.router().prefixIndex().size()).isGreaterThan(0);
    }
}
