package io.baton.engine.gguf;

/** A GGUF file that cannot be read: wrong magic, truncated, absurd sizes, unknown types. */
public final class GgufException extends RuntimeException {
    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}
