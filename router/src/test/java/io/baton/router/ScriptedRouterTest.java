package io.baton.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.baton.engine.Fixtures;
import io.baton.router.bench.ScriptedRouter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The router of {@code baton bench router}: the real API over scripted workers, through a real HTTP client. */
@Timeout(60)
class ScriptedRouterTest {
    static ScriptedRouter.Options options(String model, int workers) {
        return new ScriptedRouter.Options(Fixtures.model(model), workers, 1, 1, false, RouterConfig.defaults().withPort(0));
    }

    @Test
    void streamsExactlyMaxTokensStampedTokensThroughTheRealApi() {
        try (ScriptedRouter router = ScriptedRouter.start(options("qwen2-tiny-Q8_0.gguf", 2))) {
            Http http = new Http(router.url());
            assertThat(http.get("/health").statusCode()).isEqualTo(200);
            HttpResponse<String> r = http.post("/v1/chat/completions", "{\"model\":\"" + ScriptedRouter.MODEL_NAME + "\","
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],\"max_tokens\":6,\"stream\":true,"
                    + "\"stream_options\":{\"include_usage\":true}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            List<String> events = Http.events(r.body());
            assertThat(events.getLast()).isEqualTo("[DONE]");
            List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Http::json).toList();
            List<String> texts = chunks.stream().map(c -> c.at("/choices/0/delta/content"))
                    .filter(n -> n.isTextual() && !n.asText().isEmpty()).map(JsonNode::asText).toList();
            assertThat(texts).hasSize(6);
            for (int k = 0; k < 6; k++) assertThat(texts.get(k)).matches("0:" + k + ":[0-9]+;");
            assertThat(chunks.stream().map(c -> c.at("/choices/0/finish_reason").asText()).toList()).contains("length");
            JsonNode usage = chunks.getLast().get("usage");
            assertThat(usage.get("completion_tokens").asInt()).isEqualTo(6);
            // The router templated and tokenized the prompt as in production: the chat template adds its own tokens.
            assertThat(usage.get("prompt_tokens").asInt()).isGreaterThan(3);
            assertThat(router.tokensEmitted()).isEqualTo(6);
            assertThat(router.requestsSubmitted()).isEqualTo(1);
        }
    }

    @Test
    void refusesAModelWithoutChatTemplate() {
        assertThatThrownBy(() -> ScriptedRouter.start(options("stories260K.gguf", 1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no chat template");
    }
}
