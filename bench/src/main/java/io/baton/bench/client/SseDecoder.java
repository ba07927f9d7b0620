package io.baton.bench.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Decodes one stream's events into a {@link StreamOutcome}, off the event loop: fed segment by segment as the stream
 * goes on ({@link #feed}), then {@link #finish}ed; one instance per stream, used by one thread. Every event whose first choice carries
 * non-empty text ({@code delta.content}, {@code delta.reasoning_content} or {@code delta.reasoning} for chat,
 * {@code text} for completions) is a token arrival, as in vLLM's {@code async_request_openai_*}.
 *
 * <p>It reads the bytes in place with Jackson's streaming parser and never builds strings or trees for ordinary
 * events: it runs while the run goes on, and its garbage would mean collector pauses, which stop the event loops too.
 * Events are decoded even after a transport failure, so a disconnected stream keeps its partial token times. Codes:
 * <ul>
 *   <li>{@code malformed_sse}: a data line that is not a JSON object, or bytes left after the last event;</li>
 *   <li>{@code stream_error}: the server sent an {@code error} object or an {@code event: error};</li>
 *   <li>{@code incomplete_stream}: the stream ended with neither {@code [DONE]} nor a {@code finish_reason};</li>
 *   <li>{@code empty_output}: it ended properly but generated no text;</li>
 *   <li>transport codes set on the record ({@code http_NNN}, {@code connect_error}, {@code disconnected},
 *       {@code timeout}) are kept as they are.</li>
 * </ul>
 */
public final class SseDecoder {
    /** With a codec, so that error objects can be read as trees. */
    private static final JsonFactory JSON = new com.fasterxml.jackson.databind.ObjectMapper().getFactory();
    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII), EVENT = "event:".getBytes(StandardCharsets.US_ASCII),
            DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII), ERROR = "error".getBytes(StandardCharsets.US_ASCII);

    /** What one data payload said. */
    private static final class Event {
        boolean text;
        /** The generated text itself, read only when the decoder keeps texts. */
        String piece;
        String finish, error;
        int completion = -1, prompt = -1;
    }

    private final Endpoint endpoint;
    private final boolean keepText;
    private long[] tokens = new long[64];
    private String[] texts;
    private int nTokens, completion = -1, prompt = -1;
    private long lastEvent;
    private boolean done;
    private String finish, code, message;

    public SseDecoder(Endpoint endpoint) {
        this(endpoint, false);
    }

    /**
     * @param keepText also keep the text of every token event ({@link StreamOutcome#tokenTexts()}): one string per
     *                 token, so only for tools that must read it ({@code baton bench router} matches tokens by it)
     */
    public SseDecoder(Endpoint endpoint, boolean keepText) {
        this.endpoint = endpoint;
        this.keepText = keepText;
        this.texts = keepText ? new String[64] : null;
    }

    /** Decodes a whole record at once. */
    public static StreamOutcome decode(StreamRecord r, Endpoint endpoint) {
        SseDecoder d = new SseDecoder(endpoint);
        int trailing = r.trailingBytes();
        d.feed(r.drain());
        return d.finish(r.errorCode, r.errorMessage, trailing);
    }

    /** Decodes the next complete events of the stream, in order. */
    public void feed(StreamRecord.Segment seg) {
        byte[] b = seg.bytes();
        int start = 0;
        for (int e = 0; e < seg.count() && code == null; e++) {
            int end = seg.ends()[e];
            // The event's lines: "data:" lines make the payload (joined with \n when several), "event:" names it.
            int dataFrom = -1, dataTo = -1;
            byte[] joined = null;
            boolean errorEvent = false;
            for (int ls = start; ls < end; ) {
                int le = ls;
                while (le < end && b[le] != '\n') le++;
                int te = le > ls && b[le - 1] == '\r' ? le - 1 : le;
                if (startsWith(b, ls, te, DATA)) {
                    int ds = ls + DATA.length;
                    if (ds < te && b[ds] == ' ') ds++;
                    if (dataFrom < 0) {
                        dataFrom = ds;
                        dataTo = te;
                    } else {
                        byte[] prev = joined != null ? joined : Arrays.copyOfRange(b, dataFrom, dataTo);
                        joined = Arrays.copyOf(prev, prev.length + 1 + te - ds);
                        joined[prev.length] = '\n';
                        System.arraycopy(b, ds, joined, prev.length + 1, te - ds);
                    }
                } else if (startsWith(b, ls, te, EVENT)) {
                    int vs = ls + EVENT.length;
                    while (vs < te && b[vs] == ' ') vs++;
                    errorEvent = te - vs == ERROR.length && startsWith(b, vs, te, ERROR);
                }
                ls = le + 1;
            }
            start = end;
            if (dataFrom < 0) continue;
            byte[] buf = joined != null ? joined : b;
            int off = joined != null ? 0 : dataFrom, len = joined != null ? joined.length : dataTo - dataFrom;
            if (errorEvent) {
                code = "stream_error";
                message = abbreviate(new String(buf, off, len, StandardCharsets.UTF_8));
                break;
            }
            if (len == DONE.length && startsWith(buf, off, off + len, DONE)) {
                done = true;
                continue;
            }
            if (done) continue;
            Event ev;
            try {
                ev = parse(buf, off, len, endpoint, keepText);
            } catch (IOException | IllegalStateException ex) {
                code = "malformed_sse";
                message = "not a JSON object: " + abbreviate(new String(buf, off, len, StandardCharsets.UTF_8));
                break;
            }
            lastEvent = seg.nanos()[e];
            if (ev.error != null) {
                code = "stream_error";
                message = abbreviate(ev.error);
                break;
            }
            if (ev.text) {
                if (nTokens == tokens.length) tokens = Arrays.copyOf(tokens, nTokens * 2);
                if (keepText) {
                    if (nTokens == texts.length) texts = Arrays.copyOf(texts, nTokens * 2);
                    texts[nTokens] = ev.piece;
                }
                tokens[nTokens++] = seg.nanos()[e];
            }
            if (ev.finish != null) finish = ev.finish;
            if (ev.completion >= 0) completion = ev.completion;
            if (ev.prompt >= 0) prompt = ev.prompt;
        }
    }

    /**
     * The outcome once the stream has ended.
     *
     * @param transportCode the record's failure code (null when the response ended normally)
     * @param trailingBytes non-blank bytes after the last complete event
     */
    public StreamOutcome finish(String transportCode, String transportMessage, int trailingBytes) {
        String c = code, m = message;
        if (c == null && transportCode != null) {
            c = transportCode;
            m = transportMessage;
        }
        if (c == null) {
            if (trailingBytes > 0) {
                c = "malformed_sse";
                m = "stream ended inside an event";
            } else if (!done && finish == null) {
                c = "incomplete_stream";
                m = "stream ended without [DONE] or finish_reason";
            } else if (nTokens == 0) {
                c = "empty_output";
                m = "stream carried no generated text";
            }
        }
        return new StreamOutcome(Arrays.copyOf(tokens, nTokens), lastEvent, completion, prompt, finish, c, m,
                keepText ? Arrays.copyOf(texts, nTokens) : null);
    }

    /**
     * Reads the fields that matter from one chunk object: {@code error}, {@code choices[0]} ({@code delta.content},
     * {@code delta.reasoning_content}, {@code delta.reasoning} or {@code text}, and {@code finish_reason}) and
     * {@code usage}; everything else is skipped unread.
     */
    static Event parse(byte[] buf, int off, int len, Endpoint endpoint, boolean keepText) throws IOException {
        Event ev = new Event();
        try (JsonParser p = JSON.createParser(buf, off, len)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalStateException("not an object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken v = p.nextToken();
                switch (f) {
                    case "error" -> {
                        if (v != JsonToken.VALUE_NULL) {
                            ev.error = v.isStructStart() ? p.readValueAsTree().toString() : p.getText();
                            if (ev.error == null) ev.error = "error";
                        }
                    }
                    case "choices" -> {
                        if (v != JsonToken.START_ARRAY) {
                            p.skipChildren();
                            continue;
                        }
                        boolean first = true;
                        while (p.nextToken() != JsonToken.END_ARRAY) {
                            if (first && p.currentToken() == JsonToken.START_OBJECT) choice(p, ev, endpoint, keepText);
                            else p.skipChildren();
                            first = false;
                        }
                    }
                    case "usage" -> {
                        if (v != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String u = p.currentName();
                            JsonToken uv = p.nextToken();
                            if (uv == JsonToken.VALUE_NUMBER_INT && u.equals("completion_tokens")) ev.completion = p.getIntValue();
                            else if (uv == JsonToken.VALUE_NUMBER_INT && u.equals("prompt_tokens")) ev.prompt = p.getIntValue();
                            else p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT) throw new IllegalStateException("truncated object");
        }
        return ev;
    }

    private static void choice(JsonParser p, Event ev, Endpoint endpoint, boolean keepText) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken v = p.nextToken();
            if (f.equals("finish_reason") && v == JsonToken.VALUE_STRING) {
                ev.finish = p.getText();
            } else if (endpoint == Endpoint.COMPLETIONS && f.equals("text") && v == JsonToken.VALUE_STRING) {
                ev.text |= p.getTextLength() > 0;
                if (keepText) ev.piece = append(ev.piece, p.getText());
            } else if (endpoint == Endpoint.CHAT && f.equals("delta") && v == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String d = p.currentName();
                    JsonToken dv = p.nextToken();
                    if (dv == JsonToken.VALUE_STRING && (d.equals("content") || d.equals("reasoning_content") || d.equals("reasoning"))) {
                        ev.text |= p.getTextLength() > 0;
                        if (keepText) ev.piece = append(ev.piece, p.getText());
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
    }

    /** The text fields of one event, joined (an event rarely has more than one). */
    private static String append(String piece, String more) {
        return piece == null ? more : piece + more;
    }

    private static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
        if (to - from < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (b[from + i] != prefix[i]) return false;
        return true;
    }

    static String abbreviate(String s) {
        s = s.replaceAll("\\s+", " ").trim();
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
