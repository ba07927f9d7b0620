package io.baton.engine.model;

/** A well-formed GGUF file that Baton cannot run: unknown architecture, unsupported tensor type, missing tensor. */
public final class UnsupportedModelException extends RuntimeException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
