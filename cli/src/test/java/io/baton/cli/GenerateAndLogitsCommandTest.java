package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI contracts of {@code generate} and {@code logits}, checked against llama.cpp's reference outputs. */
class GenerateAndLogitsCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void greedyGenerateEqualsLlamaCppContinuation() throws IOException {
        // stories260K is a real trained model: its greedy continuation is text, and must be llama.cpp's exactly.
        JsonNode ref = JSON.readTree(Fixtures.reference("stories260K.json").toFile());
        for (JsonNode p : ref.get("prompts")) {
            if (!p.has("generated") || p.get("generated").get("n").asInt() < 8) continue;
            String expected = new String(Base64.getDecoder().decode(p.get("generated").get("text_b64").asText()), java.nio.charset.StandardCharsets.UTF_8);
            int n = p.get("generated").get("n").asInt();
            boolean eog = p.get("generated").get("stopped_at_eog").asBoolean();
            CliRunner.Result r = CliRunner.run("generate", "--model", Fixtures.model("stories260K.gguf").toString(), "--prompt", p.get("text").asText(),
                    "--temperature", "0", "--max-tokens", String.valueOf(eog ? n + 5 : n), "--threads", "2");
            assertThat(r.exit()).as(r.err()).isZero();
            String out = r.out().endsWith("\n") ? r.out().substring(0, r.out().length() - 1) : r.out();
            if (eog) {
                // llama.cpp's text includes the EOG piece (empty for SPM control tokens); ours stops before it
                assertThat(expected).startsWith(out);
            } else {
                assertThat(out).as("prompt %s", p.get("id").asText()).isEqualTo(expected);
            }
        }
    }

    @Test
    void sameSeedSameOutput() {
        String[] args = {"generate", "--model", Fixtures.model("stories260K.gguf").toString(), "--prompt", "Once upon a time",
                "--temperature", "1.0", "--seed", "1234", "--max-tokens", "24", "--threads", "1"};
        CliRunner.Result a = CliRunner.run(args), b = CliRunner.run(args);
        assertThat(a.exit()).isZero();
        assertThat(a.out()).isEqualTo(b.out()).isNotBlank();
    }

    @Test
    void chatUsesTheModelTemplate() {
        CliRunner.Result r = CliRunner.run("generate", "--model", Fixtures.model("qwen2-tiny-Q8_0.gguf").toString(), "--prompt", "Hello",
                "--chat", "--temperature", "0", "--max-tokens", "4");
        assertThat(r.exit()).as(r.err()).isZero();
        CliRunner.Result noTemplate = CliRunner.run("generate", "--model", Fixtures.model("stories260K.gguf").toString(), "--prompt", "Hi", "--chat");
        assertThat(noTemplate.exit()).isEqualTo(1);
        assertThat(noTemplate.err()).contains("no chat template");
    }

    @Test
    void logitsMatchTheReferenceSchemaAndValues() throws IOException {
        JsonNode ref = JSON.readTree(Fixtures.reference("qwen3-tiny-Q8_0.f32-expanded.json").toFile());
        Path prompts = dir.resolve("prompts.json"), out = dir.resolve("out.json");
        var texts = JSON.createArrayNode();
        for (int i = 0; i < 3; i++) texts.add(ref.get("prompts").get(i).get("text").asText());
        Files.writeString(prompts, texts.toString());
        CliRunner.Result r = CliRunner.run("logits", "--model", Fixtures.model("qwen3-tiny-Q8_0.gguf").toString(), "--prompts", prompts.toString(),
                "--out", out.toString(), "--n-predict", "8");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode got = JSON.readTree(out.toFile());
        assertThat(got.get("schema").asText()).isEqualTo("llama-ref/1");
        for (int i = 0; i < 3; i++) {
            JsonNode g = got.get("prompts").get(i), e = ref.get("prompts").get(i);
            assertThat(g.get("tokens")).isEqualTo(e.get("tokens"));
            assertThat(g.get("top10").size()).isEqualTo(e.get("n_tokens").asInt());
            assertThat(g.get("top10").get(0).get(0).get(0).asInt()).isEqualTo(e.get("top10").get(0).get(0).get(0).asInt());
            assertThat(g.get("last_logits").get("argmax").asInt()).isEqualTo(e.get("last_logits").get("argmax").asInt());
            assertThat(g.get("generated").get("tokens").get(0)).isEqualTo(e.get("generated").get("tokens").get(0));
            assertThat(g.get("generated").get("pieces_b64").get(0)).isEqualTo(e.get("generated").get("pieces_b64").get(0));
        }
    }

    @Test
    void errorsAreOneLineWithExitOne() throws IOException {
        CliRunner.Result missing = CliRunner.run("generate", "--model", dir.resolve("nope.gguf").toString(), "--prompt", "x");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).startsWith("baton: error: ").contains("not found").doesNotContain("\tat ");
        assertThat(missing.err().lines()).hasSize(1);

        Path corrupt = dir.resolve("bad.gguf");
        Files.write(corrupt, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        CliRunner.Result bad = CliRunner.run("generate", "--model", corrupt.toString(), "--prompt", "x");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("corrupt GGUF");

        CliRunner.Result verbose = CliRunner.run("generate", "--model", corrupt.toString(), "--prompt", "x", "--verbose");
        assertThat(verbose.err()).contains("\tat ");

        // stories260K has a context of 512 tokens
        CliRunner.Result tooLong = CliRunner.run("generate", "--model", Fixtures.model("stories260K.gguf").toString(), "--prompt", "word ".repeat(600));
        assertThat(tooLong.exit()).isEqualTo(1);
        assertThat(tooLong.err()).contains("context length");

        CliRunner.Result badArg = CliRunner.run("generate", "--model", Fixtures.model("stories260K.gguf").toString(), "--prompt", "x", "--temperature", "-1");
        assertThat(badArg.exit()).isEqualTo(1);
        assertThat(badArg.err()).contains("temperature");
    }
}
