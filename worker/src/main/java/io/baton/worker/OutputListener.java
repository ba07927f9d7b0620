package io.baton.worker;

import io.baton.engine.sampling.FinishReason;

/**
 * Receives one request's output, on the engine loop's thread: keep callbacks short (hand off to another thread for
 * I/O).
 */
public interface OutputListener {
    /**
     * A generated token.
     *
     * @param text text that is now safe to show (complete UTF-8 characters, never part of a stop string); may be empty
     */
    void onToken(int token, String text);

    /** The request ended; {@code text} is the last text to show (may be empty). Called exactly once, or {@link #onError}. */
    void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens);

    /** The request failed (e.g. it cannot fit in KV memory even alone). Called instead of {@link #onFinish}. */
    void onError(String message);
}
