package io.baton.cli;

import io.baton.bench.tokens.PromptTokenizer;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.tokenizer.Tokenizer;

import java.nio.file.Path;

/** {@code baton bench serve --tokenizer FILE.gguf}: prompts sized in the model's own tokens (the engine's tokenizer). */
record GgufPromptTokenizer(Tokenizer tokenizer, String name) implements PromptTokenizer {

    static GgufPromptTokenizer load(Path file) {
        try (GgufFile g = GgufFile.open(file)) {
            return new GgufPromptTokenizer(Tokenizer.fromGguf(g), file.getFileName().toString());
        }
    }

    @Override
    public int[] encode(String text) {
        return tokenizer.encode(text, false, false);
    }

    @Override
    public String decode(int[] ids) {
        return tokenizer.decode(ids);
    }
}
