package io.baton.router;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.baton.engine.sampling.TokenLogprob;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A choice's {@code logprobs} object, from its tokens' {@link TokenLogprobs}, in the two shapes of the OpenAI API:
 * <ul>
 *   <li>chat ("The chat completion object", {@code choices[].logprobs}):
 *       {@code {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}], "refusal": null}};</li>
 *   <li>legacy completions ("The completion object"): {@code {"tokens", "token_logprobs", "top_logprobs", "text_offset"}},
 *       each {@code top_logprobs} entry a map of token → logprob holding the most likely tokens and the chosen one
 *       (so up to N + 1 entries, as OpenAI documents; tokens whose text is the same keep the likelier).</li>
 * </ul>
 * A token's text is its piece ({@link Tokenizer#tokenBytes}) decoded as UTF-8, a byte that is only part of a character
 * becoming U+FFFD; {@code bytes} are the piece's own bytes, so that a client can join the bytes of consecutive tokens
 * into the character they share. {@code text_offset} is where each token's text starts, in code points from the start
 * of the completion (as vLLM: the running sum of the token texts' lengths). A log-probability of -infinity (a masked
 * token) is written as -9999.0, as vLLM does, since JSON has no infinity.
 *
 * <p>One per request: the legacy text offsets run on from one stream chunk to the next. Not thread-safe.
 */
final class LogprobsJson {
    private static final JsonFactory FACTORY = new JsonFactory();
    /** vLLM's stand-in for -infinity. */
    static final float FLOOR = -9999f;

    private final Tokenizer tokenizer;
    private final boolean chat;
    private int textOffset;

    LogprobsJson(Tokenizer tokenizer, boolean chat) {
        this.tokenizer = tokenizer;
        this.chat = chat;
    }

    /** The {@code logprobs} object of these tokens (the next ones of the choice), as JSON text. */
    String render(List<TokenLogprobs> tokens) {
        StringWriter out = new StringWriter(64 + tokens.size() * 64);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            if (chat) chat(g, tokens);
            else legacy(g, tokens);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private void chat(JsonGenerator g, List<TokenLogprobs> tokens) throws IOException {
        g.writeStartObject();
        g.writeArrayFieldStart("content");
        for (TokenLogprobs t : tokens) {
            g.writeStartObject();
            entry(g, t.token(), t.logprob());
            g.writeArrayFieldStart("top_logprobs");
            for (TokenLogprob alt : t.top()) {
                g.writeStartObject();
                entry(g, alt.token(), alt.logprob());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeNullField("refusal");
        g.writeEndObject();
    }

    private void entry(JsonGenerator g, int token, float logprob) throws IOException {
        byte[] piece = tokenizer.tokenBytes(token);
        g.writeStringField("token", new String(piece, StandardCharsets.UTF_8));
        g.writeNumberField("logprob", clamp(logprob));
        g.writeArrayFieldStart("bytes");
        for (byte b : piece) g.writeNumber(b & 0xFF);
        g.writeEndArray();
    }

    private void legacy(JsonGenerator g, List<TokenLogprobs> tokens) throws IOException {
        g.writeStartObject();
        g.writeArrayFieldStart("tokens");
        for (TokenLogprobs t : tokens) g.writeString(text(t.token()));
        g.writeEndArray();
        g.writeArrayFieldStart("token_logprobs");
        for (TokenLogprobs t : tokens) g.writeNumber(clamp(t.logprob()));
        g.writeEndArray();
        g.writeArrayFieldStart("top_logprobs");
        for (TokenLogprobs t : tokens) {
            Map<String, Float> top = new LinkedHashMap<>();
            for (TokenLogprob alt : t.top()) top.putIfAbsent(text(alt.token()), alt.logprob());
            top.putIfAbsent(text(t.token()), t.logprob());
            g.writeStartObject();
            for (Map.Entry<String, Float> e : top.entrySet()) g.writeNumberField(e.getKey(), clamp(e.getValue()));
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("text_offset");
        for (TokenLogprobs t : tokens) {
            g.writeNumber(textOffset);
            String s = text(t.token());
            textOffset += s.codePointCount(0, s.length());
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private String text(int token) {
        return new String(tokenizer.tokenBytes(token), StandardCharsets.UTF_8);
    }

    private static float clamp(float logprob) {
        return Math.max(logprob, FLOOR);
    }
}
