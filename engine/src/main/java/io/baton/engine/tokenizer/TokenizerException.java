package io.baton.engine.tokenizer;

/** A vocabulary that cannot be used: unsupported tokenizer model or pre-tokenizer, missing or inconsistent metadata. */
public final class TokenizerException extends IllegalArgumentException {
    public TokenizerException(String message) {
        super(message);
    }
}
