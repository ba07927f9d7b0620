package io.baton.engine.chat;

import java.util.Objects;
import java.util.Set;

/**
 * One message of a chat conversation, as in the OpenAI chat API: a role and its text.
 *
 * <p>Roles are {@code system}, {@code user} and {@code assistant}. Tool calls and {@code tool} messages are not
 * supported yet (templates receive only {@code role} and {@code content}).
 */
public record ChatMessage(String role, String content) {
    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    public ChatMessage {
        if (role == null || !ROLES.contains(role)) {
            throw new IllegalArgumentException("chat message role must be one of system, user, assistant; got "
                    + (role == null ? "null" : "'" + role + "'"));
        }
        Objects.requireNonNull(content, "chat message content must not be null");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
