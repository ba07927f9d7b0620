package io.baton.router;

import io.baton.engine.chat.ChatTemplateException;
import io.baton.engine.kv.BlockHash;
import io.baton.engine.sampling.SamplingParams;

/**
 * A parsed request to tokens: renders the chat template, tokenizes once, checks the prompt against the context and
 * the configured limit, resolves {@code max_tokens}, and computes the prompt's chained block hashes for routing. Runs
 * on the prepare pool, never on the event loop (templating and tokenization of a long prompt take milliseconds).
 */
public final class RequestPreparer {
    private final ServedModel model;
    private final int maxPromptTokens;

    /**
     * @param maxPromptTokens the configured limit, 0 for the context length minus one
     */
    public RequestPreparer(ServedModel model, int maxPromptTokens) {
        this.model = model;
        int room = model.contextLength() - 1;
        this.maxPromptTokens = maxPromptTokens == 0 ? room : Math.min(maxPromptTokens, room);
    }

    public int maxPromptTokens() {
        return maxPromptTokens;
    }

    public RouterRequest prepare(String id, String clientId, ParsedRequest p, int blockSize, long arrivalNanos) {
        if (!p.model().equals(model.name())) throw ApiException.modelNotFound(p.model());
        int[] tokens = p.chat() ? chatTokens(p) : p.promptTokens() != null ? checkIds(p.promptTokens())
                // As `baton generate`: BOS where the vocabulary wants it; control-token text in a plain prompt stays text.
                : model.tokenizer().encode(p.prompt(), true, false);
        String promptParam = p.chat() ? "messages" : "prompt";
        if (tokens.length == 0) throw ApiException.badRequest(promptParam, "The prompt is empty.");
        int ctx = model.contextLength();
        if (tokens.length > maxPromptTokens) {
            throw ApiException.badRequest(promptParam, "The prompt has " + tokens.length + " tokens, more than the limit of "
                    + maxPromptTokens + " (this model's context length is " + ctx + " tokens).");
        }
        int room = ctx - tokens.length;
        int maxTokens;
        if (p.maxTokens() != null) {
            if (p.maxTokens() > room) {
                throw ApiException.badRequest("max_tokens", "This model's context length is " + ctx + " tokens; the prompt has "
                        + tokens.length + " and max_tokens asks for " + p.maxTokens() + " more (at most " + room + ").");
            }
            maxTokens = p.maxTokens();
        } else {
            // OpenAI's defaults: chat fills the context, legacy completions stop at 16 tokens.
            maxTokens = p.chat() ? room : Math.min(SamplingParams.DEFAULT_MAX_TOKENS, room);
        }
        SamplingParams params = p.params().toBuilder().maxTokens(maxTokens).build();
        return new RouterRequest(id, clientId, tokens, BlockHash.hashes(tokens, blockSize), params, arrivalNanos);
    }

    private int[] chatTokens(ParsedRequest p) {
        var template = model.chatTemplate().orElseThrow(() -> ApiException.badRequest("messages",
                "Model '" + model.name() + "' has no chat template; use /v1/completions, or start the server with --chat-template FILE."));
        String text;
        try {
            text = template.render(p.messages(), true);
        } catch (ChatTemplateException e) {
            throw ApiException.badRequest("messages", "The chat template refused the messages: " + e.getMessage());
        }
        // As `baton generate --chat` and vLLM: the rendered text already holds BOS where the template wants it (no
        // second one), and its control tokens (<|im_start|>, ...) are parsed as such.
        return model.tokenizer().encode(text, false, true);
    }

    private int[] checkIds(int[] ids) {
        int vocab = model.tokenizer().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= vocab) throw ApiException.badRequest("prompt", "prompt[" + i + "] = " + ids[i] + " is not a token id (vocabulary size " + vocab + ").");
        }
        return ids;
    }
}
