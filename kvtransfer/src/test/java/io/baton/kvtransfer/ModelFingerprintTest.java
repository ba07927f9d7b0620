package io.baton.kvtransfer;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.model.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The same model file gives the same fingerprint; another model, or another quantization of it, does not. */
class ModelFingerprintTest {
    static ModelFingerprint of(String file) {
        try (GgufFile g = GgufFile.open(Fixtures.model(file))) {
            return ModelFingerprint.of(ModelConfig.fromGguf(g), g);
        }
    }

    @Test
    void tellsModelsApart() {
        ModelFingerprint a = of("TinyStories-656K-F32.gguf");
        assertThat(of("TinyStories-656K-F32.gguf")).isEqualTo(a);
        assertThat(of("TinyStories-656K-Q8_0.gguf")).isNotEqualTo(a); // same architecture, other tensor types
        assertThat(of("stories260K.gguf")).isNotEqualTo(a);
        assertThat(of("llama-spm-quants-Q4_0.gguf")).isNotEqualTo(of("llama-spm-quants-Q6_K.gguf"));
        assertThat(ModelFingerprint.fromBytes(a.toBytes())).isEqualTo(a);
        assertThat(a.toString()).hasSize(12).isEqualTo(a.hex().substring(0, 12));
    }
}
