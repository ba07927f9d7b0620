package io.baton.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every fixture model against what llama.cpp recorded for it (../shared/reference/&lt;model&gt;.json): prompt tokens
 * (add_special = true, parse_special = true), the piece bytes of every generated token, BOS/EOS settings, and where
 * generation stopped at an end-of-generation token.
 */
class LlamaCppReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<String> models() throws IOException {
        try (Stream<Path> files = Files.list(Fixtures.shared().resolve("models"))) {
            return files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".gguf")).sorted()
                    .map(f -> f.substring(0, f.length() - ".gguf".length())).toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void matchesLlamaCpp(String model) throws IOException {
        JsonNode ref = JSON.readTree(Fixtures.reference(model + ".json").toFile());
        Tokenizer tok;
        try (GgufFile gguf = GgufFile.open(Fixtures.model(model + ".gguf"))) {
            tok = Tokenizer.fromGguf(gguf);
        }
        JsonNode v = ref.get("vocab");
        assertThat(tok.vocabSize()).isEqualTo(v.get("n_vocab").asInt());
        assertThat(tok.bos()).isEqualTo(v.get("bos").asInt());
        assertThat(tok.eos()).isEqualTo(v.get("eos").asInt());
        assertThat(tok.addBos()).isEqualTo(v.get("add_bos").asBoolean());
        assertThat(tok.addEos()).isEqualTo(v.get("add_eos").asBoolean());

        List<String> failures = new ArrayList<>();
        int checkedPrompts = 0, checkedPieces = 0;
        for (JsonNode p : ref.get("prompts")) {
            String id = p.get("id").asText();
            String text = p.get("text").asText();
            if (p.has("error")) {
                // llama.cpp could not tokenize it (characters outside a vocabulary without byte tokens): no crash here,
                // and the characters it lacks become the unknown token.
                int[] ids = tok.encode(text, true, true);
                assertThat(ids).as(id).contains(0).startsWith(tok.bos());
                continue;
            }
            int[] expected = ints(p.get("tokens"));
            int[] actual = tok.encode(text, true, true);
            if (!Arrays.equals(expected, actual)) {
                failures.add(id + ": expected " + Arrays.toString(expected) + "\n   actual " + Arrays.toString(actual));
            }
            checkedPrompts++;

            JsonNode gen = p.get("generated");
            int[] genTokens = ints(gen.get("tokens"));
            JsonNode pieces = gen.get("pieces_b64");
            assertThat(pieces.size()).isEqualTo(genTokens.length);
            for (int i = 0; i < genTokens.length; i++) {
                byte[] want = Base64.getDecoder().decode(pieces.get(i).asText());
                byte[] got = tok.tokenBytes(genTokens[i]);
                if (!Arrays.equals(want, got)) {
                    failures.add(id + " piece of token " + genTokens[i] + ": expected " + Arrays.toString(want) + " actual " + Arrays.toString(got));
                }
                checkedPieces++;
                // Generation stops right after the first end-of-generation token, and only there.
                boolean last = i == genTokens.length - 1;
                boolean shouldStop = last && gen.get("stopped_at_eog").asBoolean();
                if (tok.isEndOfGeneration(genTokens[i]) != shouldStop) {
                    failures.add(id + " step " + i + ": token " + genTokens[i] + " isEndOfGeneration " + !shouldStop);
                }
            }
        }
        assertThat(failures).as("differences from llama.cpp for " + model).isEmpty();
        assertThat(checkedPrompts).isGreaterThanOrEqualTo(3);
        assertThat(checkedPieces).isGreaterThanOrEqualTo(3 * 5);
    }

    private static int[] ints(JsonNode array) {
        int[] r = new int[array.size()];
        for (int i = 0; i < r.length; i++) r[i] = array.get(i).asInt();
        return r;
    }
}
