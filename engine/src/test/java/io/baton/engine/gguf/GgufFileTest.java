package io.baton.engine.gguf;

import io.baton.engine.Fixtures;
import io.baton.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class GgufFileTest {

    @Test
    void readsEveryFixtureModel() throws IOException {
        try (Stream<Path> files = Files.list(Fixtures.shared().resolve("models"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".gguf")).toList()) {
                try (GgufFile g = GgufFile.open(p)) {
                    assertThat(g.version()).isIn(2, 3);
                    assertThat(g.getString("general.architecture")).isIn("llama", "qwen2", "qwen3");
                    assertThat(g.tensors()).isNotEmpty();
                    for (GgufTensorInfo t : g.tensors().values()) {
                        assertThat(g.tensorData(t).byteSize()).isEqualTo(t.byteSize());
                    }
                }
            }
        }
    }

    @Test
    void readsStories260kShapes() {
        try (GgufFile g = GgufFile.open(Fixtures.model("stories260K.gguf"))) {
            assertThat(g.getInt("llama.embedding_length")).isEqualTo(64);
            assertThat(g.getInt("llama.block_count")).isEqualTo(5);
            GgufTensorInfo emb = g.tensorInfo("token_embd.weight");
            assertThat(emb.type()).isEqualTo(GgmlType.F32);
            assertThat(emb.dims()).containsExactly(64, 512);
            assertThat(g.getStringArray("tokenizer.ggml.tokens")).hasSize(512);
        }
    }
}
