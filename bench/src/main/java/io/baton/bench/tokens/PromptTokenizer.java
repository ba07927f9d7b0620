package io.baton.bench.tokens;

/**
 * What the benchmark needs from a tokenizer: prompts are sized in the target model's tokens. The bench module never
 * depends on the engine; a real vocabulary comes in through {@link PromptTokenizers#forFile}, and without one the
 * {@link ApproxTokenizer} is used.
 */
public interface PromptTokenizer {
    /** Number of tokens in {@code text} (no special tokens added). */
    default int count(String text) {
        return encode(text).length;
    }

    /** Token ids of {@code text}, no special tokens added and none parsed. */
    int[] encode(String text);

    /** Text of {@code ids}; {@code decode(encode(s))} gives {@code s} back for the texts this module makes. */
    String decode(int[] ids);

    /** A short name for reports, e.g. {@code approx-4chars} or the GGUF file name. */
    String name();
}
