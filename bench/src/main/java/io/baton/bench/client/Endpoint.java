package io.baton.bench.client;

/** The two OpenAI streaming endpoints. */
public enum Endpoint {
    CHAT("/v1/chat/completions"), COMPLETIONS("/v1/completions");

    public final String path;

    Endpoint(String path) {
        this.path = path;
    }

    /** {@code chat}, {@code completions}, or either path. */
    public static Endpoint parse(String s) {
        return switch (s) {
            case "chat", "/v1/chat/completions", "chat/completions" -> CHAT;
            case "completions", "/v1/completions" -> COMPLETIONS;
            default -> throw new IllegalArgumentException("--endpoint must be chat or completions, got '" + s + "'");
        };
    }
}
