package io.baton.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Word splits of each pre-tokenizer, worked out by hand from llama.cpp's expressions and matchers. */
class PreTokenizerTest {

    static List<String> words(String pre, String text) {
        int[] cps = Unicode.codePoints(text);
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int len : PreTokenizer.forName(pre).split(cps)) {
            assertThat(len).isPositive();
            out.add(new String(cps, from, len));
            from += len;
        }
        assertThat(from).isEqualTo(cps.length);
        return out;
    }

    private static final String TEXT = "Hello  world's 1234567\n\n  x";

    @Test
    void llama3() {
        assertThat(words("llama-bpe", TEXT)).containsExactly("Hello", " ", " world", "'s", " ", "123", "456", "7", "\n\n", " ", " x");
        assertThat(words("llama3", "I'M ok")).containsExactly("I", "'M", " ok");         // contractions ignore case
        assertThat(words("llama3", "a...\n\nb")).containsExactly("a", "...\n\n", "b");   // punctuation takes newlines
        assertThat(words("llama3", "x \t\n y")).containsExactly("x", " \t\n", " y");
        assertThat(words("llama3", "end  ")).containsExactly("end", "  ");
        assertThat(words("llama3", "中文abc")).containsExactly("中文abc");
    }

    @Test
    void qwen2() {
        assertThat(words("qwen2", TEXT)).containsExactly("Hello", " ", " world", "'s", " ", "1", "2", "3", "4", "5", "6", "7", "\n\n", " ", " x");
        assertThat(words("qwen2", "I'M ok")).containsExactly("I", "'M", " ok");
        assertThat(words("qwen2", "a...\n\nb")).containsExactly("a", "...\n\n", "b");
        assertThat(words("qwen2", "x\u00A0\u00A0y")).containsExactly("x", "\u00A0", "\u00A0y"); // non-ASCII whitespace is \s
        assertThat(words("qwen2", "٣٤")).containsExactly("٣", "٤");                            // non-ASCII digits are \p{N}
    }

    @Test
    void gpt2() {
        assertThat(words("gpt-2", TEXT)).containsExactly("Hello", " ", " world", "'s", " 1234567", "\n\n ", " x");
        assertThat(words("gpt-2", "I'M ok")).containsExactly("I", "'", "M", " ok");           // case-sensitive
    }

    @Test
    void defaultChain() {
        assertThat(words("default", "Hi... 12345")).containsExactly("Hi", "...", " ", "123", "45");
        assertThat(words("default", "a.b")).containsExactly("a", ".", "b");
        assertThat(words("", "a.b")).containsExactly("a", ".", "b"); // missing pre: default, as llama.cpp
    }

    @Test
    void emptyText() {
        assertThat(words("qwen2", "")).isEmpty();
        assertThat(words("llama3", "")).isEmpty();
    }

    @Test
    void unknownNameListsTheSupportedOnes() {
        assertThatThrownBy(() -> PreTokenizer.forName("tekken")).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("'tekken'").hasMessageContaining("default").hasMessageContaining("llama3")
                .hasMessageContaining("smaug-bpe").hasMessageContaining("qwen2").hasMessageContaining("gpt-2");
    }
}
