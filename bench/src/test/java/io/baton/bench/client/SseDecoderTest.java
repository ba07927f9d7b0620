package io.baton.bench.client;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SseDecoderTest {
    private static String chat(String content) {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    private static StreamRecord record(Object... chunksAndNanos) {
        StreamRecord r = new StreamRecord(0, "t-0");
        for (int i = 0; i < chunksAndNanos.length; i += 2) r.onBytes(Buffer.buffer((String) chunksAndNanos[i]), (Long) chunksAndNanos[i + 1]);
        return r;
    }

    @Test
    void tokensGetTheTimeOfTheBytesThatCompleteThem() {
        String first = chat("Hel"), second = chat("lo");
        StreamRecord r = record(
                "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n", 5L, // role only: not a token
                first.substring(0, 20), 10L,                                         // half an event
                first.substring(20) + second.substring(0, 3), 30L,                  // completes token 1
                second.substring(3), 50L,                                            // completes token 2
                "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n", 60L,
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n", 70L);
        StreamOutcome o = SseDecoder.decode(r, Endpoint.CHAT);
        assertThat(o.ok()).isTrue();
        assertThat(o.tokenNanos()).containsExactly(30L, 50L);
        assertThat(o.completionTokens()).isEqualTo(2);
        assertThat(o.promptTokens()).isEqualTo(12);
        assertThat(o.finishReason()).isEqualTo("length");
        assertThat(o.lastEventNanos()).isEqualTo(70L);
    }

    @Test
    void crlfCommentsAndSeveralEventsInOneChunk() {
        StreamRecord r = record(": keep-alive\r\n\r\ndata: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\ndata: {\"choices\":[{\"text\":\"b\"}]}\r\n\r\n", 7L,
                "data: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", 9L);
        StreamOutcome o = SseDecoder.decode(r, Endpoint.COMPLETIONS);
        assertThat(o.ok()).isTrue();
        assertThat(o.tokenNanos()).containsExactly(7L, 7L);
        assertThat(o.completionTokens()).isEqualTo(-1);
        assertThat(r.eventCount()).isEqualTo(5);
    }

    @Test
    void reasoningContentCountsAsOutput() {
        StreamOutcome o = SseDecoder.decode(record(
                "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n", 1L, chat("x"), 2L, "data: [DONE]\n\n", 3L), Endpoint.CHAT);
        assertThat(o.tokenNanos()).containsExactly(1L, 2L);
    }

    @Test
    void failuresGetCodesAndKeepPartialTokens() {
        assertThat(SseDecoder.decode(record(chat("a"), 1L, "data: {\"choices\": [\n\n", 2L), Endpoint.CHAT))
                .satisfies(o -> {
                    assertThat(o.errorCode()).isEqualTo("malformed_sse");
                    assertThat(o.tokenNanos()).containsExactly(1L);
                });
        assertThat(SseDecoder.decode(record(chat("a"), 1L, "data: [1, 2]\n\n", 2L), Endpoint.CHAT).errorCode()).isEqualTo("malformed_sse");
        assertThat(SseDecoder.decode(record(chat("a"), 1L, "data: {\"choi", 2L), Endpoint.CHAT).errorCode()).isEqualTo("malformed_sse");
        assertThat(SseDecoder.decode(record(chat("a"), 1L, "data: {\"error\":{\"message\":\"overloaded\"}}\n\n", 2L), Endpoint.CHAT))
                .satisfies(o -> {
                    assertThat(o.errorCode()).isEqualTo("stream_error");
                    assertThat(o.errorMessage()).contains("overloaded");
                });
        assertThat(SseDecoder.decode(record(chat("a"), 1L, "event: error\ndata: boom\n\n", 2L), Endpoint.CHAT).errorCode()).isEqualTo("stream_error");
        assertThat(SseDecoder.decode(record(chat("a"), 1L), Endpoint.CHAT).errorCode()).isEqualTo("incomplete_stream");
        assertThat(SseDecoder.decode(record("data: [DONE]\n\n", 1L), Endpoint.CHAT).errorCode()).isEqualTo("empty_output");
        StreamRecord cut = record(chat("a"), 1L, chat("b"), 2L);
        cut.fail("disconnected", "HttpClosedException: Connection was closed");
        StreamOutcome o = SseDecoder.decode(cut, Endpoint.CHAT);
        assertThat(o.errorCode()).isEqualTo("disconnected");
        assertThat(o.tokenNanos()).containsExactly(1L, 2L);
    }

    @Test
    void keepsEachTokensTextOnlyWhenAsked() {
        String body = chat("Hel") + chat("lo \\\"x\\\"") + "data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        SseDecoder keeping = new SseDecoder(Endpoint.CHAT, true);
        keeping.feed(record(body, 3L).drain());
        StreamOutcome o = keeping.finish(null, null, 0);
        assertThat(o.tokenNanos()).containsExactly(3L, 3L);
        assertThat(o.tokenTexts()).containsExactly("Hel", "lo \"x\"");   // JSON escapes decoded; the empty finish chunk is no token
        assertThat(SseDecoder.decode(record(body, 3L), Endpoint.CHAT).tokenTexts()).isNull();

        SseDecoder completions = new SseDecoder(Endpoint.COMPLETIONS, true);
        completions.feed(record("data: {\"choices\":[{\"text\":\"a\"}]}\n\n".repeat(70) + "data: [DONE]\n\n", 1L).drain());
        assertThat(completions.finish(null, null, 0).tokenTexts()).hasSize(70).containsOnly("a");   // past the first array size
    }
}
