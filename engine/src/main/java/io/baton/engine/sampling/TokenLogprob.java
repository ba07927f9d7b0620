package io.baton.engine.sampling;

/** A token and its log-probability, as an entry of OpenAI's {@code top_logprobs}. */
public record TokenLogprob(int token, float logprob) {}
