package io.baton.engine.model;

/** A sequence longer than the model's context length. */
public final class ContextOverflowException extends RuntimeException {
    public ContextOverflowException(int tokens, int contextLength) {
        super("sequence of " + tokens + " tokens exceeds the context length of " + contextLength + " tokens");
    }
}
