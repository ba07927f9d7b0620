package io.baton.engine.sampling;

import java.util.Locale;

/** Why a request's output ended, as OpenAI's and vLLM's {@code finish_reason}. */
public enum FinishReason {
    /** EOS, a stop token id or a stop string. */
    STOP,
    /** {@link SamplingParams#maxTokens()} reached (or the context window is full). */
    LENGTH,
    /** Cancelled by the client or dropped by the server. */
    ABORT;

    /** The value on the wire: "stop", "length", "abort". */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
