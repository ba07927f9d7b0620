package io.baton.engine.chat;

/**
 * A chat template that cannot be compiled or rendered: a syntax error, an unsupported Jinja feature, or the template
 * itself rejecting the conversation through {@code raise_exception(...)}. The message is one line, fit for a client.
 */
public final class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
