package io.baton.router;

import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.tokenizer.Tokenizer;

import java.util.Optional;

/**
 * The model behind the API: its public name, what the router needs to turn a request into tokens, and its limits.
 *
 * @param name          the id clients pass as {@code model} (and {@code GET /v1/models} lists)
 * @param chatTemplate  the chat template, if the model has one (else {@code /v1/chat/completions} answers 400)
 * @param contextLength tokens of context (prompt + completion)
 * @param createdEpochSeconds {@code created} of {@code /v1/models}: when the server loaded it
 */
public record ServedModel(String name, Tokenizer tokenizer, Optional<ChatTemplate> chatTemplate, int contextLength,
                          long createdEpochSeconds) {}
