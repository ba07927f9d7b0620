package io.baton.router;

import io.baton.engine.chat.ChatMessage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestParserTest {
    static ParsedRequest chat(String json) {
        return RequestParser.parse(json.getBytes(StandardCharsets.UTF_8), true);
    }

    static ParsedRequest completion(String json) {
        return RequestParser.parse(json.getBytes(StandardCharsets.UTF_8), false);
    }

    static void rejects(boolean chat, String json, String param, String messagePart) {
        assertThatThrownBy(() -> RequestParser.parse(json.getBytes(StandardCharsets.UTF_8), chat))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.param()).isEqualTo(param);
                    assertThat(e.getMessage()).contains(messagePart);
                });
    }

    @Test
    void readsEverySamplingParameter() {
        ParsedRequest p = chat("""
                {"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
                 "max_tokens":7,"max_completion_tokens":9,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":42,
                 "stop":["x","y"],"presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,"ignore_eos":true,
                 "stream":true,"stream_options":{"include_usage":true},"n":1,"logprobs":false,"user":"u1","tools":[]}""");
        assertThat(p.messages()).containsExactly(ChatMessage.system("be brief"), ChatMessage.user("ab"));
        assertThat(p.maxTokens()).isEqualTo(9);
        var s = p.params();
        assertThat(s.temperature()).isEqualTo(0.5f);
        assertThat(s.topP()).isEqualTo(0.9f);
        assertThat(s.topK()).isEqualTo(40);
        assertThat(s.minP()).isEqualTo(0.05f);
        assertThat(s.seed()).isEqualTo(42);
        assertThat(s.stop()).containsExactly("x", "y");
        assertThat(s.presencePenalty()).isEqualTo(0.5f);
        assertThat(s.frequencyPenalty()).isEqualTo(-0.5f);
        assertThat(s.repetitionPenalty()).isEqualTo(1.1f);
        assertThat(s.ignoreEos()).isTrue();
        assertThat(p.stream()).isTrue();
        assertThat(p.includeUsage()).isTrue();
    }

    @Test
    void readsLogprobsInEachApisForm() {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]";
        var chatTop = chat("{\"model\":\"m\"," + messages + ",\"logprobs\":true,\"top_logprobs\":20}").params();
        assertThat(chatTop.logprobs()).isTrue();
        assertThat(chatTop.topLogprobs()).isEqualTo(20);
        var chatOnly = chat("{\"model\":\"m\"," + messages + ",\"logprobs\":true}").params();
        assertThat(chatOnly.logprobs()).isTrue();
        assertThat(chatOnly.topLogprobs()).isZero();
        assertThat(chat("{\"model\":\"m\"," + messages + ",\"logprobs\":false,\"top_logprobs\":null}").params().logprobs()).isFalse();
        var legacy = completion("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":5}").params();
        assertThat(legacy.logprobs()).isTrue();
        assertThat(legacy.topLogprobs()).isEqualTo(5);
        var legacyZero = completion("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":0}").params();
        assertThat(legacyZero.logprobs()).isTrue();
        assertThat(legacyZero.topLogprobs()).isZero();
        assertThat(completion("{\"model\":\"m\",\"prompt\":\"x\"}").params().logprobs()).isFalse();
    }

    @Test
    void defaultsAreOpenAis() {
        ParsedRequest p = completion("{\"model\":\"m\",\"prompt\":\"hi\",\"temperature\":null}");
        assertThat(p.prompt()).isEqualTo("hi");
        assertThat(p.maxTokens()).isNull();
        assertThat(p.params().temperature()).isEqualTo(1f);
        assertThat(p.params().topP()).isEqualTo(1f);
        assertThat(p.params().stop()).isEmpty();
        assertThat(p.stream()).isFalse();
    }

    @Test
    void promptForms() {
        assertThat(completion("{\"model\":\"m\",\"prompt\":[\"one\"]}").prompt()).isEqualTo("one");
        assertThat(completion("{\"model\":\"m\",\"prompt\":[1,2,3]}").promptTokens()).containsExactly(1, 2, 3);
        assertThat(completion("{\"model\":\"m\",\"prompt\":[[4,5]]}").promptTokens()).containsExactly(4, 5);
        assertThat(completion("{\"model\":\"m\",\"prompt\":\"x\",\"stop\":\"END\",\"max_tokens\":3.0}").params().stop()).containsExactly("END");
    }

    @Test
    void rejectsWrongTypesAndRanges() {
        rejects(false, "not json", null, "not valid JSON");
        rejects(false, "\"just a string\"", null, "JSON object");
        rejects(false, "{\"model\":1,\"prompt\":\"x\"}", "model", "must be a string");
        rejects(false, "{\"model\":\"m\",\"prompt\":{}}", "prompt", "must be a string");
        rejects(false, "{\"model\":\"m\",\"prompt\":[-1]}", "prompt", "token id");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":\"5\"}", "max_tokens", "must be an integer");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":-3}", "max_tokens", "at least 1");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":1e12}", "max_tokens", "out of range");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"top_p\":0}", "top_p", "top_p");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"top_k\":-2}", "top_k", "top_k");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"min_p\":2}", "min_p", "min_p");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"presence_penalty\":3}", "presence_penalty", "presence_penalty");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"repetition_penalty\":0}", "repetition_penalty", "repetition_penalty");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"seed\":-5}", "seed", "seed");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"\"]}", "stop", "stop strings must not be empty");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"ignore_eos\":1}", "ignore_eos", "boolean");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"echo\":true}", "echo", "not supported");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":2}", "best_of", "best_of");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"logit_bias\":{\"5\":1}}", "logit_bias", "not supported");
        rejects(true, "{\"model\":\"m\",\"messages\":\"hi\"}", "messages", "non-empty array");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].role", "Tool");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages[0].content", "text content");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content", "string");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":3}", "top_logprobs", "needs logprobs to be true");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":false,\"top_logprobs\":0}", "top_logprobs", "needs logprobs to be true");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,\"top_logprobs\":30}", "top_logprobs", "[0, 20]");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,\"top_logprobs\":-1}", "top_logprobs", "[0, 20]");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":1}", "logprobs", "boolean");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":6}", "logprobs", "[0, 5]");
        rejects(false, "{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":true}", "logprobs", "integer");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]}", "tools", "not supported");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}", "response_format", "text");
        rejects(true, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":0}", "max_completion_tokens", "at least 1");
    }

    @Test
    void streamChunksAreValidJson() throws Exception {
        var c = new OpenAiJson.Chunks(true, "chatcmpl-1", 5, "m\"odel", true);
        for (String e : List.of(c.role(), c.text("a \"quoted\"\n\u00e9 \u2603"), c.finish("stop"), c.usage(3, 4))) {
            assertThat(e).startsWith("data: ").endsWith("\n\n");
            var j = Http.JSON.readTree(e.substring(6));
            assertThat(j.get("model").asText()).isEqualTo("m\"odel");
            assertThat(j.has("usage")).isTrue();
        }
        assertThat(Http.JSON.readTree(c.text("a \"quoted\"\n\u00e9 \u2603").substring(6)).at("/choices/0/delta/content").asText())
                .isEqualTo("a \"quoted\"\n\u00e9 \u2603");
        assertThat(Http.JSON.readTree(c.usage(3, 4).substring(6)).at("/usage/total_tokens").asInt()).isEqualTo(7);
    }
}
