package io.baton.bench.client;

/**
 * What one streamed response said, decoded.
 *
 * @param tokenNanos        arrival time of every event that carried generated text (one entry per content chunk)
 * @param lastEventNanos    arrival of the last data event before {@code [DONE]} (the end of the request, as in vLLM)
 * @param completionTokens  {@code usage.completion_tokens} from the stream, or -1 when the server sent no usage
 * @param promptTokens      {@code usage.prompt_tokens}, or -1
 * @param errorCode         null on success, else a short code ({@code http_429}, {@code disconnected}, ...)
 * @param tokenTexts        the text of every event in {@code tokenNanos} (same order), or null when the decoder was not
 *                          asked to keep it ({@link SseDecoder#SseDecoder(Endpoint, boolean)})
 */
public record StreamOutcome(long[] tokenNanos, long lastEventNanos, int completionTokens, int promptTokens,
                            String finishReason, String errorCode, String errorMessage, String[] tokenTexts) {
    public boolean ok() {
        return errorCode == null;
    }
}
