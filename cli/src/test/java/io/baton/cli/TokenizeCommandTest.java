package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code baton tokenize} run in-process, with stdin, stdout and stderr redirected. */
class TokenizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    record Result(int exit, String out, String err) {}

    private static Result run(byte[] stdin, String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        TokenizeCommand cmd = cl.getSubcommands().get("tokenize").getCommand();
        cmd.stdin = new ByteArrayInputStream(stdin);
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static Result run(String stdin, String... args) {
        return run(stdin.getBytes(StandardCharsets.UTF_8), args);
    }

    private static Path shared() {
        Path dir = Path.of(System.getProperty("baton.shared", "../shared")).toAbsolutePath().normalize();
        if (!Files.isDirectory(dir.resolve("models"))) {
            String msg = "SKIPPED: fixture folder " + dir + " not found";
            if (System.getenv("BATON_REQUIRE_SHARED") != null) throw new AssertionError(msg);
            Assumptions.abort(msg);
        }
        return dir;
    }

    @Test
    void tokenizesLikeLlamaCpp() throws IOException {
        // llama.cpp's tokens for the prompts of the reference file (add_special and parse_special both on)
        JsonNode ref = JSON.readTree(shared().resolve("reference/qwen2-tiny-Q8_0.json").toFile());
        StringBuilder in = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (JsonNode p : ref.get("prompts")) {
            in.append(JSON.writeValueAsString(p.get("text").asText())).append('\n');
            expected.add(p.get("tokens").toString());
        }
        in.append(JSON.writeValueAsString("<|im_start|>user")).append('\n');
        expected.add("[151644,872]");
        Path model = shared().resolve("models/qwen2-tiny-Q8_0.gguf");
        Result r = run(in.toString(), "tokenize", "--model", model.toString(), "--add-special", "--parse-special");
        assertThat(r.err()).isEmpty();
        assertThat(r.exit()).isZero();
        assertThat(r.out().lines().toList()).containsExactlyElementsOf(expected);

        // without --parse-special the same text is plain text; with --add-special Llama-style models get BOS
        Result plain = run("\"<|im_start|>user\"\n", "tokenize", "--model", model.toString());
        assertThat(plain.out().strip()).isNotEqualTo("[151644,872]").startsWith("[").doesNotContain("151644");
        Result bos = run("\"Hi\"\n\"\"\n", "tokenize", "--model", shared().resolve("models/stories260K.gguf").toString(), "--add-special");
        assertThat(bos.out().lines().toList()).hasSize(2).allMatch(l -> l.startsWith("[1")).last().isEqualTo("[1]");
    }

    @Test
    void missingModelIsOneErrorLine() {
        Result r = run("\"x\"\n", "tokenize", "--model", dir.resolve("nope.gguf").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().toList()).containsExactly("baton: error: model file not found: " + dir.resolve("nope.gguf"));
    }

    @Test
    void corruptModelIsOneErrorLine() throws IOException {
        Path bad = Files.write(dir.resolve("bad.gguf"), "not a gguf file at all, just text".getBytes(StandardCharsets.UTF_8));
        Result r = run("\"x\"\n", "tokenize", "--model", bad.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines().toList()).singleElement().asString().startsWith("baton: error: corrupt GGUF file").contains("not a GGUF file");
    }

    @Test
    void badLinesNameTheirLineNumberAfterEarlierLinesWereAnswered() {
        String model = shared().resolve("models/stories260K.gguf").toString();
        for (String[] c : new String[][] {
                {"\"ok\"\n{not json\n\"never\"\n", "stdin line 2: not valid JSON"},
                {"\"ok\"\n42\n", "stdin line 2: expected a JSON string, got number"},
                {"\"ok\"\n\n", "stdin line 2: expected a JSON string, got an empty line"},
                {"\"ok\"\n\"a\" \"b\"\n", "stdin line 2: not valid JSON"}}) {
            Result r = run(c[0], "tokenize", "--model", model);
            assertThat(r.exit()).as(c[0]).isEqualTo(1);
            assertThat(r.out().lines().toList()).as(c[0]).hasSize(1);
            assertThat(r.err().lines().toList()).as(c[0]).singleElement().asString().startsWith("baton: error: " + c[1]);
        }
        Result r = run(new byte[] {'"', 'a', '"', '\n', '"', (byte) 0xFF, '"', '\n'}, "tokenize", "--model", model);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("baton: error: stdin line 2: not valid UTF-8");
    }

    @Test
    void verboseAddsTheStackTrace() {
        Result r = run("\"x\"\n", "tokenize", "--verbose", "--model", dir.resolve("nope.gguf").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines().count()).isGreaterThan(2);
        assertThat(r.err()).contains("\tat io.baton.");
    }

    @Test
    void missingOptionIsAUsageError() {
        Result r = run("", "tokenize");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("--model");
    }
}
