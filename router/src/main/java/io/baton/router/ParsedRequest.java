package io.baton.router;

import io.baton.engine.chat.ChatMessage;
import io.baton.engine.sampling.SamplingParams;

import java.util.List;

/**
 * A validated OpenAI request body, before templating and tokenization.
 *
 * @param chat          {@code /v1/chat/completions} (else {@code /v1/completions})
 * @param messages      chat messages (chat only)
 * @param prompt        prompt text (completions with a text prompt), else null
 * @param promptTokens  prompt token ids (completions with a token-id prompt), else null
 * @param params        sampling parameters; {@code maxTokens} is a placeholder when {@code maxTokens} is null
 * @param maxTokens     {@code max_completion_tokens} or {@code max_tokens} as given, or null (then the endpoint's default)
 * @param includeUsage  {@code stream_options.include_usage}
 */
public record ParsedRequest(boolean chat, String model, List<ChatMessage> messages, String prompt, int[] promptTokens,
                            SamplingParams params, Integer maxTokens, boolean stream, boolean includeUsage) {}
