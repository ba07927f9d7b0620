package io.baton.router;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The response bodies and stream chunks of the OpenAI API (API reference: "The chat completion object", "The chat
 * completion chunk object", "The completion object"), written with Jackson's streaming generator. Stream chunks of
 * one request share everything but the text, so each {@link Chunks} pre-renders its fixed prefix once.
 */
public final class OpenAiJson {
    private static final JsonFactory FACTORY = new JsonFactory();

    private OpenAiJson() {}

    /** {@code {"error": {"message", "type", "param", "code"}}}. */
    public static byte[] error(ApiException e) {
        return write(g -> {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", e.getMessage());
            g.writeStringField("type", e.type());
            g.writeStringField("param", e.param());
            g.writeStringField("code", e.code());
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** The list of {@code GET /v1/models}, or one model's object when {@code list} is false. */
    public static byte[] models(ServedModel m, boolean list) {
        return write(g -> {
            if (list) {
                g.writeStartObject();
                g.writeStringField("object", "list");
                g.writeArrayFieldStart("data");
            }
            g.writeStartObject();
            g.writeStringField("id", m.name());
            g.writeStringField("object", "model");
            g.writeNumberField("created", m.createdEpochSeconds());
            g.writeStringField("owned_by", "baton");
            g.writeNumberField("max_model_len", m.contextLength());
            g.writeEndObject();
            if (list) {
                g.writeEndArray();
                g.writeEndObject();
            }
        });
    }

    /**
     * A whole (non-streamed) chat completion or text completion.
     *
     * @param logprobs the choice's {@code logprobs} object as JSON text ({@link LogprobsJson}), or null when not asked for
     */
    public static byte[] completion(boolean chat, String id, long created, String model, String text, String logprobs,
                                    String finishReason, int promptTokens, int completionTokens) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("id", id);
            g.writeStringField("object", chat ? "chat.completion" : "text_completion");
            g.writeNumberField("created", created);
            g.writeStringField("model", model);
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", 0);
            if (chat) {
                g.writeObjectFieldStart("message");
                g.writeStringField("role", "assistant");
                g.writeStringField("content", text);
                g.writeEndObject();
            } else {
                g.writeStringField("text", text);
            }
            g.writeFieldName("logprobs");
            if (logprobs == null) g.writeNull();
            else g.writeRawValue(logprobs);
            g.writeStringField("finish_reason", finishReason);
            g.writeEndObject();
            g.writeEndArray();
            usage(g, promptTokens, completionTokens);
            g.writeEndObject();
        });
    }

    private static void usage(JsonGenerator g, int promptTokens, int completionTokens) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", promptTokens);
        g.writeNumberField("completion_tokens", completionTokens);
        g.writeNumberField("total_tokens", promptTokens + completionTokens);
        g.writeEndObject();
    }

    /** The stream chunks of one request, each already framed as a server-sent event ({@code data: ...\n\n}). */
    public static final class Chunks {
        private final boolean chat;
        private final boolean includeUsage;
        private final String head;

        public Chunks(boolean chat, String id, long created, String model, boolean includeUsage) {
            this.chat = chat;
            this.includeUsage = includeUsage;
            this.head = "data: " + new String(write(g -> {
                g.writeStartObject();
                g.writeStringField("id", id);
                g.writeStringField("object", chat ? "chat.completion.chunk" : "text_completion");
                g.writeNumberField("created", created);
                g.writeStringField("model", model);
                g.writeEndObject();
            }), StandardCharsets.UTF_8).replaceFirst("}$", ",");
        }

        public boolean includesUsage() {
            return includeUsage;
        }

        /** The first chat chunk: the assistant role, empty content. */
        public String role() {
            return choice("{\"role\":\"assistant\",\"content\":\"\"}", null, null);
        }

        /** A chunk carrying {@code text}. */
        public String text(String text) {
            return text(text, null);
        }

        /**
         * A chunk carrying {@code text} and the log-probabilities of the tokens it completes.
         *
         * @param logprobs the {@code logprobs} object of those tokens as JSON text ({@link LogprobsJson}), or null
         */
        public String text(String text, String logprobs) {
            return chat ? choice("{\"content\":" + quote(text) + "}", logprobs, null) : choice(quote(text), logprobs, null);
        }

        /** The last chunk of the choice: no new text, its finish reason. */
        public String finish(String finishReason) {
            return chat ? choice("{}", null, finishReason) : choice("\"\"", null, finishReason);
        }

        /** With {@code include_usage}: the extra chunk with no choices and the usage. */
        public String usage(int promptTokens, int completionTokens) {
            return head + "\"choices\":[],\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + completionTokens
                    + ",\"total_tokens\":" + (promptTokens + completionTokens) + "}}\n\n";
        }

        private String choice(String content, String logprobs, String finishReason) {
            StringBuilder sb = new StringBuilder(head.length() + content.length() + (logprobs == null ? 0 : logprobs.length()) + 96)
                    .append(head).append("\"choices\":[{\"index\":0,").append(chat ? "\"delta\":" : "\"text\":").append(content)
                    .append(",\"logprobs\":").append(logprobs == null ? "null" : logprobs).append(",\"finish_reason\":")
                    .append(finishReason == null ? "null" : quote(finishReason)).append("}]");
            if (includeUsage) sb.append(",\"usage\":null");
            return sb.append("}\n\n").toString();
        }

        public static final String DONE = "data: [DONE]\n\n";

        /** An error after the stream started: an event with the error object (as vLLM does), then the stream ends. */
        public static String error(ApiException e) {
            return "data: " + new String(OpenAiJson.error(e), StandardCharsets.UTF_8) + "\n\n";
        }
    }

    static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }

    private interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] write(Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** For tests and health: a tiny JSON object of string fields. */
    static byte[] object(List<String> keysAndValues) {
        return write(g -> {
            g.writeStartObject();
            for (int i = 0; i < keysAndValues.size(); i += 2) g.writeStringField(keysAndValues.get(i), keysAndValues.get(i + 1));
            g.writeEndObject();
        });
    }
}
