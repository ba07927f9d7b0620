package io.baton.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.sampling.TokenLogprob;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code logprobs} objects of the chat and legacy completion APIs, on stories260K's real vocabulary (SentencePiece
 * with byte tokens): field names and nesting, token text and bytes, the floor for -infinity, legacy text offsets that
 * run on over stream chunks, and the chunks and whole responses that carry them.
 */
class LogprobsJsonTest {
    static Tokenizer tokenizer;
    static int once, upon, byteE2;

    @BeforeAll
    static void load() {
        try (GgufFile f = GgufFile.open(Fixtures.model("stories260K.gguf"))) {
            tokenizer = Tokenizer.fromGguf(f);
        }
        int[] ids = tokenizer.encode("Once upon", false, false);
        assertThat(ids).hasSize(2);
        once = ids[0];
        upon = ids[1];
        byteE2 = IntStream.range(0, tokenizer.vocabSize()).filter(i -> tokenizer.tokenText(i).equals("<0xE2>")).findFirst().orElseThrow();
    }

    static String text(int id) {
        return new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }

    static List<Integer> bytes(JsonNode a) {
        List<Integer> out = new ArrayList<>();
        a.forEach(b -> out.add(b.intValue()));
        return out;
    }

    static List<Integer> bytes(int id) {
        List<Integer> out = new ArrayList<>();
        for (byte b : tokenizer.tokenBytes(id)) out.add(b & 0xFF);
        return out;
    }

    static JsonNode json(String s) throws Exception {
        return Http.JSON.readTree(s);
    }

    @Test
    void chatEntriesHaveTokenLogprobBytesAndTopLogprobs() throws Exception {
        JsonNode j = json(new LogprobsJson(tokenizer, true).render(List.of(
                new TokenLogprobs(once, -0.25f, List.of(new TokenLogprob(once, -0.25f), new TokenLogprob(upon, -1.5f))),
                new TokenLogprobs(byteE2, Float.NEGATIVE_INFINITY, List.of()))));
        assertThat(j.has("refusal")).isTrue();
        assertThat(j.get("refusal").isNull()).isTrue();
        JsonNode content = j.get("content");
        assertThat(content).hasSize(2);
        JsonNode first = content.get(0);
        assertThat(first.get("token").asText()).isEqualTo(text(once)).isEqualTo(" Once");
        assertThat(first.get("logprob").doubleValue()).isEqualTo(-0.25);
        assertThat(bytes(first.get("bytes"))).isEqualTo(bytes(once));
        JsonNode top = first.get("top_logprobs");
        assertThat(top).hasSize(2);
        assertThat(top.get(1).get("token").asText()).isEqualTo(text(upon));
        assertThat(top.get(1).get("logprob").doubleValue()).isEqualTo(-1.5);
        assertThat(bytes(top.get(1).get("bytes"))).isEqualTo(bytes(upon));
        assertThat(top.get(1).size()).isEqualTo(3);
        // A byte that is only part of a character: U+FFFD as text, the byte itself in bytes. -infinity: vLLM's floor.
        JsonNode partial = content.get(1);
        assertThat(partial.get("token").asText()).isEqualTo("\uFFFD");
        assertThat(bytes(partial.get("bytes"))).containsExactly(0xE2);
        assertThat(partial.get("logprob").doubleValue()).isEqualTo(-9999.0);
        assertThat(partial.get("top_logprobs")).isEmpty();
        assertThat(first.size()).isEqualTo(4);
    }

    @Test
    void legacyEntriesAreParallelListsWithTheChosenTokenInTopAndRunningOffsets() throws Exception {
        LogprobsJson w = new LogprobsJson(tokenizer, false);
        // Chosen token not among the top: it is added (N + 1 entries); when it is, the dict has N.
        JsonNode a = json(w.render(List.of(new TokenLogprobs(upon, -3f, List.of(new TokenLogprob(once, -0.5f))))));
        assertThat(a.get("tokens")).hasSize(1);
        assertThat(a.at("/tokens/0").asText()).isEqualTo(text(upon));
        assertThat(a.at("/token_logprobs/0").doubleValue()).isEqualTo(-3.0);
        JsonNode dict = a.at("/top_logprobs/0");
        assertThat(dict.size()).isEqualTo(2);
        assertThat(dict.get(text(once)).doubleValue()).isEqualTo(-0.5);
        assertThat(dict.get(text(upon)).doubleValue()).isEqualTo(-3.0);
        assertThat(a.at("/text_offset/0").asInt()).isZero();
        // The next chunk's offsets go on from the text of the tokens before.
        JsonNode b = json(w.render(List.of(new TokenLogprobs(once, -0.5f, List.of(new TokenLogprob(once, -0.5f))),
                new TokenLogprobs(upon, -1f, List.of()))));
        assertThat(b.get("tokens")).hasSize(2);
        assertThat(b.at("/top_logprobs/0").size()).isEqualTo(1);
        assertThat(b.at("/top_logprobs/1").size()).as("logprobs = 0: only the chosen token").isEqualTo(1);
        int afterUpon = text(upon).length();
        assertThat(b.at("/text_offset/0").asInt()).isEqualTo(afterUpon);
        assertThat(b.at("/text_offset/1").asInt()).isEqualTo(afterUpon + text(once).length());
        assertThat(a.size()).isEqualTo(4);
    }

    @Test
    void chunksAndWholeResponsesCarryTheObject() throws Exception {
        String lp = new LogprobsJson(tokenizer, true).render(List.of(new TokenLogprobs(once, -0.25f, List.of())));
        var chat = new OpenAiJson.Chunks(true, "chatcmpl-1", 5, "m", false);
        JsonNode chunk = json(chat.text(" Once", lp).substring("data: ".length()));
        assertThat(chunk.at("/choices/0/delta/content").asText()).isEqualTo(" Once");
        assertThat(chunk.at("/choices/0/logprobs/content/0/token").asText()).isEqualTo(" Once");
        assertThat(json(chat.text("x").substring(6)).at("/choices/0/logprobs").isNull()).isTrue();
        assertThat(json(chat.finish("stop").substring(6)).at("/choices/0/logprobs").isNull()).isTrue();
        JsonNode whole = json(new String(OpenAiJson.completion(true, "chatcmpl-2", 5, "m", " Once", lp, "length", 3, 1), StandardCharsets.UTF_8));
        assertThat(whole.at("/choices/0/logprobs/content/0/logprob").doubleValue()).isEqualTo(-0.25);
        assertThat(whole.at("/choices/0/message/content").asText()).isEqualTo(" Once");
        JsonNode none = json(new String(OpenAiJson.completion(false, "cmpl-3", 5, "m", "x", null, "length", 3, 1), StandardCharsets.UTF_8));
        assertThat(none.at("/choices/0").has("logprobs")).isTrue();
        assertThat(none.at("/choices/0/logprobs").isNull()).isTrue();
        String legacy = new LogprobsJson(tokenizer, false).render(List.of(new TokenLogprobs(once, -0.25f, List.of())));
        JsonNode text = json(new OpenAiJson.Chunks(false, "cmpl-4", 5, "m", true).text(" Once", legacy).substring(6));
        assertThat(text.at("/choices/0/logprobs/tokens/0").asText()).isEqualTo(" Once");
        assertThat(text.has("usage")).isTrue();
    }
}
