package io.baton.engine.tokenizer;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * llama.cpp's own tokenizer test vectors (tests/test-tokenizer-0 format) against the vocabulary-only GGUFs: every
 * case must give exactly llama.cpp's ids (add_special = false, parse_special = false).
 */
class LlamaCppVectorsTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "llama-spm, ggml-vocab-llama-spm.gguf",
            "llama3.2-bpe, ggml-vocab-llama3.2-bpe.gguf",
            "qwen2.5, ggml-vocab-qwen2.5.gguf"})
    void everyCaseMatchesLlamaCpp(String vectors, String vocabFile) throws IOException {
        Path dir = Fixtures.shared();
        String inp = Files.readString(dir.resolve("tokenizer").resolve(vectors + ".inp"), StandardCharsets.UTF_8);
        List<String> out = Files.readAllLines(dir.resolve("tokenizer").resolve(vectors + ".out"), StandardCharsets.UTF_8);
        assertThat(inp).endsWith(SEPARATOR);
        List<String> cases = new ArrayList<>(Arrays.asList(inp.substring(0, inp.length() - SEPARATOR.length()).split(SEPARATOR, -1)));
        assertThat(cases).hasSize(out.size()).hasSizeGreaterThan(40);

        Tokenizer tok;
        try (GgufFile gguf = GgufFile.open(dir.resolve("vocab").resolve(vocabFile))) {
            tok = Tokenizer.fromGguf(gguf);
        }
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            int[] expected = parseIds(out.get(i));
            int[] actual = tok.encode(cases.get(i), false, false);
            if (!Arrays.equals(expected, actual)) {
                failures.add("case " + i + " " + escape(cases.get(i)) + "\n  expected " + Arrays.toString(expected) + "\n  actual   " + Arrays.toString(actual));
            }
        }
        assertThat(failures).as("cases that differ from llama.cpp").isEmpty();
    }

    static int[] parseIds(String line) {
        String t = line.trim();
        return t.isEmpty() ? new int[0] : Arrays.stream(t.split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp == '\n') b.append("\\n");
            else if (cp == '\t') b.append("\\t");
            else if (cp == '\r') b.append("\\r");
            else if (cp < 0x20) b.append(String.format("\\u%04x", cp));
            else b.appendCodePoint(cp);
        });
        return b.append('"').toString();
    }
}
