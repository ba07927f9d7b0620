package io.baton.router;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.Sequence;
import io.baton.engine.chat.ChatMessage;
import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.sampling.Logprobs;
import io.baton.engine.sampling.TokenLogprob;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Log-probabilities end to end: the official OpenAI Java client against {@code baton serve} on stories260K (a trained
 * model, given a plain chat template), colocated and disaggregated (every prompt through the prefill worker, so the
 * first token's log-probabilities are the prefill worker's and the rest the decode worker's). Greedy: the chosen token
 * is the most likely; the first token's log-probability equals a plain forward pass over the prompt; streamed equals
 * whole; disaggregated equals colocated; legacy completions carry their own format.
 */
@Timeout(180)
class LogprobsServeTest {
    static final String MODEL = "stories260K";
    static final String TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}";
    static final String PROMPT = "Once upon a time, there was a little girl named Lily. She";
    static final int TOP = 5;
    static final int MAX_TOKENS = 10;
    static final double TOLERANCE = 1e-4;
    static Model reference;
    static EmbeddedServer colocated, disaggregated;
    static OpenAIClient colocatedClient, disaggregatedClient;

    @BeforeAll
    static void start() {
        reference = Model.load(Fixtures.model(MODEL + ".gguf"), 1);
        RouterConfig cfg = RouterConfig.defaults().withPort(0);
        colocated = EmbeddedServer.start(Fixtures.model(MODEL + ".gguf"), 1,
                new EmbeddedServer.Options(null, TEMPLATE, 16L << 20, cfg, EmbeddedServer.Mode.COLOCATED, 0, 0));
        // Threshold 1: every prompt goes through the prefill worker.
        disaggregated = EmbeddedServer.start(Fixtures.model(MODEL + ".gguf"), 1,
                new EmbeddedServer.Options(null, TEMPLATE, 16L << 20, cfg, EmbeddedServer.Mode.DISAGGREGATED, 1, 1));
        colocatedClient = client(colocated);
        disaggregatedClient = client(disaggregated);
    }

    static OpenAIClient client(EmbeddedServer s) {
        return OpenAIOkHttpClient.builder().baseUrl(s.url() + "/v1").apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{colocatedClient::close, disaggregatedClient::close, colocated, disaggregated, reference}) {
            try {
                if (c != null) c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    enum Mode { COLOCATED, DISAGGREGATED }

    static OpenAIClient client(Mode m) {
        return m == Mode.COLOCATED ? colocatedClient : disaggregatedClient;
    }

    /** One entry of {@code logprobs.content}, as plain values to compare. */
    record Entry(String token, double logprob, List<Long> bytes, List<String> topTokens, List<Double> topLogprobs) {
        static Entry of(ChatCompletionTokenLogprob e) {
            return new Entry(e.token(), e.logprob(), e.bytes().orElseThrow(),
                    e.topLogprobs().stream().map(ChatCompletionTokenLogprob.TopLogprob::token).toList(),
                    e.topLogprobs().stream().map(ChatCompletionTokenLogprob.TopLogprob::logprob).toList());
        }
    }

    static ChatCompletionCreateParams chat() {
        return ChatCompletionCreateParams.builder().model(MODEL).addUserMessage(PROMPT).temperature(0.0)
                .maxCompletionTokens(MAX_TOKENS).logprobs(true).topLogprobs(TOP).build();
    }

    static int[] chatPromptTokens() {
        String text = new ChatTemplate(TEMPLATE, "", "").render(List.of(ChatMessage.user(PROMPT)), true);
        return reference.tokenizer().encode(text, false, true);
    }

    static String piece(int token) {
        return new String(reference.tokenizer().tokenBytes(token), StandardCharsets.UTF_8);
    }

    /** Whole chat completion: its entries, checked on their own and against the engine run directly. */
    static List<Entry> wholeChat(Mode mode) {
        ChatCompletion c = client(mode).chat().completions().create(chat());
        ChatCompletion.Choice choice = c.choices().getFirst();
        List<Entry> entries = choice.logprobs().orElseThrow().content().orElseThrow().stream().map(Entry::of).toList();
        assertThat((long) entries.size()).as("one entry per generated token").isEqualTo(c.usage().orElseThrow().completionTokens());
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (Entry e : entries) {
            assertThat(e.logprob()).isLessThanOrEqualTo(0);
            assertThat(e.topTokens()).hasSize(TOP);
            // Greedy: the chosen token is the most likely one.
            assertThat(e.topTokens().getFirst()).isEqualTo(e.token());
            assertThat(e.topLogprobs().getFirst()).isEqualTo(e.logprob());
            for (int k = 1; k < TOP; k++) assertThat(e.topLogprobs().get(k)).isLessThanOrEqualTo(e.topLogprobs().get(k - 1));
            for (long b : e.bytes()) joined.write((int) b);
            assertThat(new String(toBytes(e.bytes()), StandardCharsets.UTF_8)).isEqualTo(e.token());
        }
        if (choice.finishReason().asString().equals("length")) {
            assertThat(joined.toString(StandardCharsets.UTF_8)).as("the tokens' bytes make the text").isEqualTo(choice.message().content().orElseThrow());
        }
        // The first token's log-probability, computed here from the prompt's last-position logits.
        float[] lp;
        try (Sequence s = reference.newSequence(reference.config().contextLength())) {
            lp = Logprobs.logSoftmax(s.forward(chatPromptTokens(), false), reference.config().vocabSize());
        }
        List<TokenLogprob> top = Logprobs.top(lp, reference.config().vocabSize(), TOP);
        Entry first = entries.getFirst();
        assertThat(first.token()).isEqualTo(piece(top.getFirst().token()));
        assertThat(first.logprob()).isCloseTo(lp[top.getFirst().token()], within(TOLERANCE));
        for (int k = 0; k < TOP; k++) {
            assertThat(first.topTokens().get(k)).isEqualTo(piece(top.get(k).token()));
            assertThat(first.topLogprobs().get(k)).isCloseTo(top.get(k).logprob(), within(TOLERANCE));
        }
        return entries;
    }

    static byte[] toBytes(List<Long> bytes) {
        byte[] b = new byte[bytes.size()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (long) bytes.get(i);
        return b;
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void streamedChatCarriesTheSameEntriesAsWhole(Mode mode) {
        List<Entry> whole = wholeChat(mode);
        List<Entry> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client(mode).chat().completions().createStreaming(chat())) {
            s.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    ch.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(l -> l.forEach(e -> streamed.add(Entry.of(e))));
                }
            });
        }
        assertThat(streamed).hasSameSizeAs(whole);
        for (int i = 0; i < whole.size(); i++) assertClose(streamed.get(i), whole.get(i), "token " + i);
    }

    @Test
    void disaggregatedEqualsColocated() {
        List<Entry> c = wholeChat(Mode.COLOCATED);
        List<Entry> d = wholeChat(Mode.DISAGGREGATED);
        assertThat(d).hasSameSizeAs(c);
        for (int i = 0; i < c.size(); i++) assertClose(d.get(i), c.get(i), "token " + i);
    }

    static void assertClose(Entry got, Entry expected, String what) {
        assertThat(got.token()).as(what).isEqualTo(expected.token());
        assertThat(got.bytes()).as(what).isEqualTo(expected.bytes());
        assertThat(got.logprob()).as(what).isCloseTo(expected.logprob(), within(TOLERANCE));
        assertThat(got.topTokens()).as(what).isEqualTo(expected.topTokens());
        for (int k = 0; k < got.topLogprobs().size(); k++) {
            assertThat(got.topLogprobs().get(k)).as(what).isCloseTo(expected.topLogprobs().get(k), within(TOLERANCE));
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void tokensWhoseTextIsHeldBackStillGetTheirEntries(Mode mode) {
        List<Entry> whole = wholeChat(mode);
        assertThat(whole.size()).isGreaterThanOrEqualTo(4);
        // A stop string over tokens 2 and 3: token 2's text is held back (it may start the stop string) and token 3
        // completes it, so neither text is ever sent; their entries still come, with the finish.
        String stop = whole.get(2).token() + whole.get(3).token();
        List<Entry> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        List<String> finishes = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> s = client(mode).chat().completions().createStreaming(chat().toBuilder().stop(stop).build())) {
            s.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    ch.finishReason().ifPresent(f -> finishes.add(f.asString()));
                    ch.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content).ifPresent(l -> l.forEach(e -> streamed.add(Entry.of(e))));
                }
            });
        }
        assertThat(finishes).containsExactly("stop");
        assertThat(text.toString()).isEqualTo(whole.get(0).token() + whole.get(1).token());
        assertThat(streamed).hasSize(4);
        for (int i = 0; i < 4; i++) assertClose(streamed.get(i), whole.get(i), "token " + i);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void legacyCompletionsHaveTokensTokenLogprobsTopDictsAndOffsets(Mode mode) {
        CompletionCreateParams p = CompletionCreateParams.builder().model(MODEL).prompt(PROMPT).maxTokens(MAX_TOKENS).temperature(0.0).logprobs(3L).build();
        Completion whole = client(mode).completions().create(p);
        CompletionChoice.Logprobs lp = whole.choices().getFirst().logprobs().orElseThrow();
        List<String> tokens = lp.tokens().orElseThrow();
        List<Double> tokenLogprobs = lp.tokenLogprobs().orElseThrow();
        List<CompletionChoice.Logprobs.TopLogprob> tops = lp.topLogprobs().orElseThrow();
        List<Long> offsets = lp.textOffset().orElseThrow();
        assertThat((long) tokens.size()).isEqualTo(whole.usage().orElseThrow().completionTokens());
        assertThat(tokenLogprobs).hasSameSizeAs(tokens);
        assertThat(tops).hasSameSizeAs(tokens);
        assertThat(offsets).hasSameSizeAs(tokens);
        long offset = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Map<String, JsonValue> dict = tops.get(i)._additionalProperties();
            assertThat(dict.size()).isBetween(1, 3); // greedy: the chosen token is among the 3 (tokens of the same text merge)
            double best = dict.values().stream().mapToDouble(LogprobsServeTest::number).max().orElseThrow();
            assertThat(number(dict.get(tokens.get(i)))).isEqualTo(tokenLogprobs.get(i)).isEqualTo(best);
            assertThat(offsets.get(i)).isEqualTo(offset);
            offset += tokens.get(i).codePointCount(0, tokens.get(i).length());
        }
        // Streamed: the same lists, chunk by chunk, offsets running on.
        List<String> streamedTokens = new ArrayList<>();
        List<Long> streamedOffsets = new ArrayList<>();
        try (StreamResponse<Completion> s = client(mode).completions().createStreaming(p)) {
            s.stream().forEach(c -> c.choices().forEach(ch -> ch.logprobs().ifPresent(l -> {
                streamedTokens.addAll(l.tokens().orElseThrow());
                streamedOffsets.addAll(l.textOffset().orElseThrow());
            })));
        }
        assertThat(streamedTokens).isEqualTo(tokens);
        assertThat(streamedOffsets).isEqualTo(offsets);
    }

    static double number(JsonValue v) {
        return ((Number) v.asNumber().orElseThrow()).doubleValue();
    }

    @Test
    void invalidRequestsAreBadRequests() {
        ChatCompletionCreateParams noLogprobs = chat().toBuilder().logprobs(false).build();
        assertThatThrownBy(() -> colocatedClient.chat().completions().create(noLogprobs))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("top_logprobs");
        assertThatThrownBy(() -> colocatedClient.chat().completions().create(chat().toBuilder().topLogprobs(21).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("top_logprobs");
        assertThatThrownBy(() -> colocatedClient.completions().create(CompletionCreateParams.builder().model(MODEL).prompt(PROMPT).logprobs(6L).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("logprobs");
    }
}
