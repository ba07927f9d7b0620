package io.baton.bench.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a {@link StreamRecord} into a {@link StreamOutcome}, off the event loop. Every event whose first choice carries
 * non-empty text ({@code delta.content} or {@code delta.reasoning_content} for chat, {@code text} for completions) is
 * a token arrival, as in vLLM's {@code async_request_openai_*}. Failures get a code:
 * Events are decoded even after a transport failure, so a disconnected stream keeps its partial token times.
 * <ul>
 *   <li>{@code malformed_sse}: a data line that is not JSON, or bytes left after the last event;</li>
 *   <li>{@code stream_error}: the server sent an {@code error} object or an {@code event: error};</li>
 *   <li>{@code incomplete_stream}: the stream ended with neither {@code [DONE]} nor a {@code finish_reason};</li>
 *   <li>{@code empty_output}: it ended properly but generated no text;</li>
 *   <li>transport codes set on the record ({@code http_NNN}, {@code connect_error}, {@code disconnected},
 *       {@code timeout}) are kept as they are.</li>
 * </ul>
 */
public final class SseDecoder {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SseDecoder() {}

    public static StreamOutcome decode(StreamRecord r, Endpoint endpoint) {
        long[] tokens = new long[Math.max(1, r.events)];
        int nTokens = 0, completion = -1, prompt = -1;
        long lastEvent = 0;
        boolean done = false;
        String finish = null, code = null, message = null;
        int start = 0;
        for (int e = 0; e < r.events && code == null; e++) {
            int end = r.eventEnds[e];
            String event = new String(r.bytes, start, end - start, StandardCharsets.UTF_8);
            start = end;
            StringBuilder data = new StringBuilder();
            boolean errorEvent = false, hasData = false;
            for (String line : event.split("\r?\n")) {
                if (line.startsWith("data:")) {
                    if (hasData) data.append('\n');
                    data.append(line, line.startsWith("data: ") ? 6 : 5, line.length());
                    hasData = true;
                } else if (line.startsWith("event:")) {
                    errorEvent = line.substring(6).trim().equals("error");
                }
            }
            if (!hasData) continue;
            String d = data.toString();
            if (errorEvent) {
                code = "stream_error";
                message = abbreviate(d);
                break;
            }
            if (d.equals("[DONE]")) {
                done = true;
                continue;
            }
            if (done) continue;
            JsonNode n;
            try {
                n = JSON.readTree(d);
            } catch (IOException ex) {
                code = "malformed_sse";
                message = "not JSON: " + abbreviate(d);
                break;
            }
            if (n == null || !n.isObject()) {
                code = "malformed_sse";
                message = "not a JSON object: " + abbreviate(d);
                break;
            }
            lastEvent = r.eventNanos[e];
            if (n.hasNonNull("error")) {
                code = "stream_error";
                message = abbreviate(n.get("error").toString());
                break;
            }
            JsonNode choice = n.path("choices").path(0);
            if (!choice.isMissingNode()) {
                String text = endpoint == Endpoint.CHAT
                        ? firstText(choice.path("delta"), "content", "reasoning_content", "reasoning")
                        : firstText(choice, "text");
                if (!text.isEmpty()) tokens[nTokens++] = r.eventNanos[e];
                if (choice.hasNonNull("finish_reason")) finish = choice.get("finish_reason").asText();
            }
            JsonNode usage = n.path("usage");
            if (usage.isObject()) {
                if (usage.path("completion_tokens").isInt()) completion = usage.get("completion_tokens").asInt();
                if (usage.path("prompt_tokens").isInt()) prompt = usage.get("prompt_tokens").asInt();
            }
        }
        if (code == null && r.errorCode != null) {
            code = r.errorCode;
            message = r.errorMessage;
        }
        if (code == null) {
            if (r.trailingBytes() > 0) {
                code = "malformed_sse";
                message = "stream ended inside an event";
            } else if (!done && finish == null) {
                code = "incomplete_stream";
                message = "stream ended without [DONE] or finish_reason";
            } else if (nTokens == 0) {
                code = "empty_output";
                message = "stream carried no generated text";
            }
        }
        return new StreamOutcome(Arrays.copyOf(tokens, nTokens), lastEvent, completion, prompt, finish, code, message);
    }

    private static String firstText(JsonNode node, String... fields) {
        for (String f : fields) {
            JsonNode v = node.get(f);
            if (v != null && v.isTextual() && !v.asText().isEmpty()) return v.asText();
        }
        return "";
    }

    static String abbreviate(String s) {
        s = s.replaceAll("\\s+", " ").trim();
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
