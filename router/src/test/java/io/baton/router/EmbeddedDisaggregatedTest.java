package io.baton.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code baton serve}'s default: a prefill worker and a decode worker in one JVM, the KV handed over in-process. The
 * greedy text through the disaggregated path equals one greedy engine run, for short prompts (prefilled by the decode
 * worker) and long ones (prefilled by the prefill worker, KV pushed layer by layer), streamed and whole, and every KV
 * block on both workers is free afterwards.
 */
@Timeout(180)
class EmbeddedDisaggregatedTest {
    static final String MODEL = "stories260K";

    @Test
    void disaggregatedEqualsGreedyAndFreesEveryBlock() throws Exception {
        try (Model reference = Model.load(Fixtures.model(MODEL + ".gguf"), 1);
             EmbeddedServer server = EmbeddedServer.start(Fixtures.model(MODEL + ".gguf"), 1,
                     new EmbeddedServer.Options(null, null, 16L << 20, RouterConfig.defaults().withPort(0),
                             EmbeddedServer.Mode.DISAGGREGATED, 1, 8))) {
            assertThat(server.workers()).extracting(w -> w.info().roleName()).containsExactly("prefill", "decode");
            Http http = new Http(server.url());
            assertThat(http.get("/health").statusCode()).isEqualTo(200);

            List<String> prompts = List.of("Once upon a time", // below the threshold of 8 tokens: decode prefills it
                    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.",
                    "The sun was shining and the birds were singing. Tom and his dog went to the river to look for fish and frogs.");
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int round = 0; round < 4; round++) {
                for (String p : prompts) {
                    String body = Http.JSON.createObjectNode().put("model", MODEL).put("prompt", p).put("max_tokens", 24)
                            .put("temperature", 0).put("stream", round % 2 == 0).toString();
                    calls.add(http.postAsync("/v1/completions", body));
                }
            }
            for (int i = 0; i < calls.size(); i++) {
                HttpResponse<String> r = calls.get(i).get(120, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                String p = prompts.get(i % prompts.size());
                Greedy.Result ref = Greedy.run(reference, reference.tokenizer().encode(p, true, false), 24);
                String text;
                if ((i / prompts.size()) % 2 == 0) {
                    StringBuilder sb = new StringBuilder();
                    for (String e : Http.events(r.body())) {
                        if (e.equals("[DONE]")) continue;
                        JsonNode chunk = Http.json(e);
                        if (chunk.get("choices").size() > 0) sb.append(chunk.get("choices").get(0).get("text").asText());
                    }
                    text = sb.toString();
                } else {
                    text = Http.json(r.body()).get("choices").get(0).get("text").asText();
                }
                assertThat(text).as("prompt %d", i).isEqualTo(ref.text());
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                for (InProcessWorkerClient w : server.workers()) {
                    assertThat(w.refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS).kvBlocksUsed()).as(w.id()).isZero();
                }
            });
            String metrics = http.get("/metrics").body();
            assertThat(metrics).contains("role=\"prefill\"").contains("role=\"decode\"");
        }
    }
}
