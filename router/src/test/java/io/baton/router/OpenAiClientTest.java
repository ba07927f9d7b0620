package io.baton.router;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.chat.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The official OpenAI Java client against {@code baton serve} on qwen2-tiny (Qwen2.5 tokenizer and chat template):
 * chat completions whole and streamed, legacy completions, and errors the client must understand.
 */
@Timeout(120)
class OpenAiClientTest {
    static final String MODEL = "qwen2-tiny-Q8_0";
    static EmbeddedServer server;
    static Model reference;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = EmbeddedServer.start(Fixtures.model(MODEL + ".gguf"), 2,
                new EmbeddedServer.Options(null, null, 64L << 20, RouterConfig.defaults().withPort(0)));
        reference = Model.load(Fixtures.model(MODEL + ".gguf"), 1);
        client = OpenAIOkHttpClient.builder().baseUrl(server.url() + "/v1").apiKey("unused").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
        if (reference != null) reference.close();
    }

    static Greedy.Result greedyChat(List<ChatMessage> messages, int maxTokens) {
        String text = reference.chatTemplate().orElseThrow().render(messages, true);
        return Greedy.run(reference, reference.tokenizer().encode(text, false, true), maxTokens);
    }

    static ChatCompletionCreateParams.Builder chat() {
        return ChatCompletionCreateParams.builder().model(MODEL).addSystemMessage("You are terse.")
                .addUserMessage("Name three colours.").temperature(0.0).maxCompletionTokens(24);
    }

    @Test
    void chatCompletionEqualsTheGreedyEngineRun() {
        ChatCompletion c = client.chat().completions().create(chat().build());
        Greedy.Result ref = greedyChat(List.of(ChatMessage.system("You are terse."), ChatMessage.user("Name three colours.")), 24);
        assertThat(ref.completionTokens()).isPositive();
        assertThat(c.id()).startsWith("chatcmpl-");
        assertThat(c.model()).isEqualTo(MODEL);
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().getFirst().message().content()).hasValue(ref.text());
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo(ref.finishReason());
        assertThat(c.usage()).hasValueSatisfying(u -> {
            assertThat(u.completionTokens()).isEqualTo(ref.completionTokens());
            assertThat(u.totalTokens()).isEqualTo(u.promptTokens() + u.completionTokens());
        });
    }

    @Test
    void streamedChatCompletionEqualsTheGreedyEngineRun() {
        ChatCompletionCreateParams p = chat().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        List<String> finishes = new ArrayList<>();
        List<Long> usage = new ArrayList<>();
        String[] role = new String[1];
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunk -> {
                assertThat(chunk.id()).startsWith("chatcmpl-");
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().role().ifPresent(r -> role[0] = r.asString());
                    ch.delta().content().ifPresent(text::append);
                    ch.finishReason().ifPresent(f -> finishes.add(f.asString()));
                }
                chunk.usage().ifPresent(u -> usage.add(u.completionTokens()));
            });
        }
        Greedy.Result ref = greedyChat(List.of(ChatMessage.system("You are terse."), ChatMessage.user("Name three colours.")), 24);
        assertThat(role[0]).isEqualTo("assistant");
        assertThat(text.toString()).isEqualTo(ref.text());
        assertThat(finishes).containsExactly(ref.finishReason());
        assertThat(usage).containsExactly((long) ref.completionTokens());
    }

    @Test
    void legacyCompletion() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(MODEL).prompt("Hello, world")
                .maxTokens(10).temperature(0.0).build());
        Greedy.Result ref = Greedy.run(reference, reference.tokenizer().encode("Hello, world", true, false), 10);
        assertThat(c.choices().getFirst().text()).isEqualTo(ref.text());
        assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(ref.completionTokens()));
    }

    @Test
    void errorsReachTheClientAsTypedExceptions() {
        assertThatThrownBy(() -> client.chat().completions().create(chat().model("no-such-model").build()))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("no-such-model");
        assertThatThrownBy(() -> client.chat().completions().create(chat().n(3).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("n = 1");
    }
}
