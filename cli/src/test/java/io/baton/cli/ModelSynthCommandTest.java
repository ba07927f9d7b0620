package io.baton.cli;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.synth.ModelShapes;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ModelSynthCommandTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** ../shared/vocab (the build passes its place as baton.shared); the test is skipped without it, as engine tests are. */
    private static Path vocab(String name) {
        Path dir = Path.of(System.getProperty("baton.shared", "../shared")).resolve("vocab");
        if (!Files.isDirectory(dir)) {
            if (System.getenv("BATON_REQUIRE_SHARED") != null) throw new AssertionError("MISSING: " + dir);
            Assumptions.abort("SKIPPED: fixture folder " + dir + " not found");
        }
        return dir.resolve(name);
    }

    private String[] args(String like, String type, Path vocab) {
        return new String[] {"model", "synth", "--like", like, "--type", type, "--vocab", vocab.toString(), "--out", dir.resolve("m.gguf").toString()};
    }

    @Test
    void writesALoadableModel() {
        Path out = dir.resolve("m.gguf");
        Run r = run("model", "synth", "--like", "smollm2-135m", "--type", "q8_0", "--vocab", vocab("ggml-vocab-llama-spm.gguf").toString(),
                "--out", out.toString(), "--seed", "3", "--layers", "1", "--threads", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("wrote " + out + ": smollm2-135m q8_0, 1 layers, vocabulary 32000");
        assertThat(r.err()).contains("note: the vocabulary has 32000 tokens; the real smollm2-135m has 49152");
        try (GgufFile g = GgufFile.open(out)) {
            assertThat(g.getString("general.architecture")).isEqualTo("llama");
            assertThat(g.getInt("llama.block_count")).isEqualTo(1);
            assertThat(g.getInt("llama.embedding_length")).isEqualTo(576);
            assertThat(g.getInt("general.file_type")).isEqualTo(7);
            assertThat(g.getStringArray("tokenizer.ggml.tokens")).hasSize(32000);
        }
    }

    @Test
    void unknownShapeListsTheKnownOnes() {
        Run r = run(args("llama-7b", "q8_0", vocab("ggml-vocab-llama-spm.gguf")));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("baton model synth: unknown shape 'llama-7b' (known: " + ModelShapes.names() + ")" + System.lineSeparator());
    }

    @Test
    void unknownTypeListsTheTypes() {
        Run r = run(args("qwen2.5-0.5b", "q5_k", vocab("ggml-vocab-llama-spm.gguf")));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("baton model synth: unknown type 'q5_k' (types: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)" + System.lineSeparator());
    }

    @Test
    void missingOrCorruptVocabularyIsOneLine() throws Exception {
        Run missing = run(args("qwen2.5-0.5b", "q8_0", dir.resolve("nope.gguf")));
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).startsWith("baton model synth: vocabulary file not found: ").hasLineCount(1);
        Path junk = dir.resolve("junk.gguf");
        Files.write(junk, new byte[100]);
        Run corrupt = run(args("qwen2.5-0.5b", "q8_0", junk));
        assertThat(corrupt.code()).isEqualTo(1);
        assertThat(corrupt.err()).contains("not a GGUF file").hasLineCount(1);
        assertThat(dir.resolve("m.gguf")).doesNotExist();
    }

    @Test
    void badLayersAndMissingFolderAreOneLine() {
        Path v = vocab("ggml-vocab-llama-spm.gguf");
        Run layers = run("model", "synth", "--like", "qwen3-0.6b", "--type", "f16", "--vocab", v.toString(), "--out", dir.resolve("x.gguf").toString(), "--layers", "29");
        assertThat(layers.code()).isEqualTo(1);
        assertThat(layers.err()).isEqualTo("baton model synth: --layers must be between 1 and 28 for qwen3-0.6b" + System.lineSeparator());
        Run folder = run("model", "synth", "--like", "qwen3-0.6b", "--type", "f16", "--vocab", v.toString(), "--out", dir.resolve("no/such/x.gguf").toString());
        assertThat(folder.code()).isEqualTo(1);
        assertThat(folder.err()).contains("does not exist").hasLineCount(1);
    }

    @Test
    void helpNamesEveryShapeAndType() {
        Run r = run("model", "synth", "--help");
        assertThat(r.code()).isZero();
        for (var s : ModelShapes.ALL) assertThat(r.out()).contains(s.name());
        assertThat(r.out()).contains("f32, f16, bf16, q8_0, q4_0, q4_k, q6_k");
    }
}
