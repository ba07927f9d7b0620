package io.baton.worker;

import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;

/**
 * Receives one request's output, on the engine loop's thread: keep callbacks short (hand off to another thread for
 * I/O).
 *
 * <p>The engine calls {@link #onToken(int, String, TokenLogprobs)}; a listener that has no use for log-probabilities
 * implements only {@link #onToken(int, String)}. A listener that passes output on to another listener (a worker
 * client, a flow, a relay) must override the three-argument form, or the log-probabilities stop there.
 */
public interface OutputListener {
    /**
     * A generated token.
     *
     * @param text text that is now safe to show (complete UTF-8 characters, never part of a stop string); may be empty
     */
    void onToken(int token, String text);

    /**
     * A generated token with its log-probabilities.
     *
     * @param logprobs the token's log-probabilities when the request asked for them
     *                 ({@link io.baton.engine.sampling.SamplingParams#logprobs()}), else null
     */
    default void onToken(int token, String text, TokenLogprobs logprobs) {
        onToken(token, text);
    }

    /** The request ended; {@code text} is the last text to show (may be empty). Called exactly once, or {@link #onError}. */
    void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens);

    /** The request failed (e.g. it cannot fit in KV memory even alone). Called instead of {@link #onFinish}. */
    void onError(String message);
}
