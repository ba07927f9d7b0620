package io.baton.cli;

import io.baton.bench.tokens.PromptTokenizer;
import io.baton.bench.tokens.PromptTokenizers;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench serve --tokenizer FILE.gguf} sizes prompts with the engine's tokenizer. */
class GgufPromptTokenizerTest {
    @Test
    void sizesWithTheModelsOwnTokens() {
        PromptTokenizers.setGgufLoader(GgufPromptTokenizer::load);
        PromptTokenizer t = PromptTokenizers.forFile(Fixtures.shared().resolve("vocab/ggml-vocab-qwen2.5.gguf"));
        assertThat(t.encode("Hello world")).containsExactly(9707, 1879); // llama.cpp's ids (README example)
        assertThat(t.decode(t.encode("The quick brown fox"))).isEqualTo("The quick brown fox");
        assertThat(t.name()).isEqualTo("ggml-vocab-qwen2.5.gguf");
    }
}
