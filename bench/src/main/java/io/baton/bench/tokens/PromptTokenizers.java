package io.baton.bench.tokens;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Picks the tokenizer that sizes prompts. {@code --tokenizer FILE.gguf} needs the engine's GGUF tokenizer, which this
 * module does not depend on: the CLI installs it through {@link #setGgufLoader} (the adapter point: wrap
 * {@code io.baton.engine.tokenizer.Tokenizer.fromGguf(GgufFile.open(path))}, mapping {@code count/encode} to
 * {@code encode(text, false, false)} and {@code decode} to {@code decode(ids)}).
 */
public final class PromptTokenizers {
    private static volatile Function<Path, PromptTokenizer> ggufLoader;

    private PromptTokenizers() {}

    /** Installs the loader of GGUF vocabularies (called once by the CLI). */
    public static void setGgufLoader(Function<Path, PromptTokenizer> loader) {
        ggufLoader = loader;
    }

    /** The approximate tokenizer when {@code file} is null, else the vocabulary of that GGUF file. */
    public static PromptTokenizer forFile(Path file) {
        if (file == null) return new ApproxTokenizer();
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("tokenizer file not found: " + file);
        Function<Path, PromptTokenizer> loader = ggufLoader;
        if (loader == null) {
            throw new IllegalArgumentException("--tokenizer needs the engine's GGUF tokenizer, which only the baton CLI"
                    + " installs; leave --tokenizer out to size prompts with the approximate tokenizer");
        }
        return loader.apply(file);
    }
}
