package io.baton.worker;

import io.baton.engine.sampling.SamplingParams;

/** A request to generate: its id, prompt token ids (already templated and tokenized) and sampling parameters. */
public record GenerationRequest(String id, int[] promptTokens, SamplingParams params) {
    public GenerationRequest {
        if (id == null || id.isBlank()) throw new IllegalArgumentException("request id must not be blank");
        if (promptTokens == null || promptTokens.length == 0) throw new IllegalArgumentException("request " + id + " has an empty prompt");
        promptTokens = promptTokens.clone();
    }
}
