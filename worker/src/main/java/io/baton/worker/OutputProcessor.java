package io.baton.worker;

import io.baton.engine.sampling.Sampler;
import io.baton.engine.sampling.SamplingParams;
import io.baton.engine.sampling.StopChecker;
import io.baton.engine.sampling.TokenCounts;
import io.baton.engine.tokenizer.StreamingDecoder;
import io.baton.engine.tokenizer.Tokenizer;

import java.util.HashSet;
import java.util.Set;

/**
 * One request's token-to-text path: its sampler (with its own seeded random generator), the token counts for
 * penalties, the streaming detokenizer and the stop checker; whether its tokens come with log-probabilities.
 */
final class OutputProcessor {
    final Sampler sampler;
    final TokenCounts counts;
    final StreamingDecoder decoder;
    final StopChecker stop;
    final OutputListener listener;
    final int promptTokens;
    /** Top alternatives per token when the request asked for log-probabilities ({@code SamplingParams.logprobs}), else -1. */
    final int topLogprobs;

    OutputProcessor(GenerationRequest req, Tokenizer tokenizer, Set<Integer> endOfGeneration, OutputListener listener) {
        SamplingParams p = req.params();
        if (!p.ignoreEos() && !endOfGeneration.isEmpty()) {
            // Every end-of-generation token of the vocabulary (EOS, EOT, <|im_end|>, ...) stops, not only EOS.
            Set<Integer> ids = new HashSet<>(p.stopTokenIds());
            ids.addAll(endOfGeneration);
            p = p.toBuilder().stopTokenIds(ids).build();
        }
        this.sampler = new Sampler(p);
        this.counts = TokenCounts.ofPrompt(req.promptTokens());
        this.decoder = tokenizer.streamingDecoder();
        this.stop = new StopChecker(p, p.ignoreEos() ? -1 : tokenizer.eos());
        this.listener = listener;
        this.promptTokens = req.promptTokens().length;
        this.topLogprobs = p.logprobs() ? p.topLogprobs() : -1;
    }

    boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }

    /** All end-of-generation token ids of a vocabulary. */
    static Set<Integer> endOfGeneration(Tokenizer t) {
        Set<Integer> ids = new HashSet<>();
        for (int i = 0; i < t.vocabSize(); i++) if (t.isEndOfGeneration(i)) ids.add(i);
        return Set.copyOf(ids);
    }
}
