package io.baton.engine.kv;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.model.ModelConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KvLayoutTest {

    @Test
    void qwen25HalfBShape() {
        // Qwen2.5-0.5B: 24 layers, 2 KV heads of 64 (docs/kv-cache.md).
        KvLayout l = new KvLayout(24, 2, 64, 64, 16, KvType.F32);
        assertThat(l.kRowWidth()).isEqualTo(128);
        assertThat(l.bytesPerTokenPerLayer()).isEqualTo(1024);
        assertThat(l.bytesPerToken()).isEqualTo(24 * 1024);
        assertThat(l.blockBytesPerLayer()).isEqualTo(16 * 1024);
        assertThat(l.bytesPerBlock()).isEqualTo(384 * 1024);
        assertThat(new KvLayout(24, 2, 64, 64, 16, KvType.BF16).bytesPerBlock()).isEqualTo(192 * 1024);
        assertThat(l.blocksForBudget(1L << 30)).isEqualTo(2730); // 1 GiB / 384 KiB
        assertThat(l.blocksForTokens(0)).isZero();
        assertThat(l.blocksForTokens(16)).isEqualTo(1);
        assertThat(l.blocksForTokens(17)).isEqualTo(2);
    }

    @Test
    void llama32OneBShape() {
        KvLayout l = new KvLayout(16, 8, 64, 64, 16, KvType.F32);
        assertThat(l.bytesPerToken()).isEqualTo(64 * 1024);
        assertThat(l.bytesPerBlock()).isEqualTo(1024 * 1024);
    }

    @Test
    void fromARealModel() {
        try (GgufFile g = GgufFile.open(Fixtures.model("qwen3-tiny-Q8_0.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(g);
            KvLayout l = KvLayout.of(c);
            assertThat(l).isEqualTo(new KvLayout(2, 2, 32, 32, KvLayout.DEFAULT_BLOCK_SIZE, KvType.F32));
            assertThat(l.kRowWidth()).isEqualTo(c.kDim());
            assertThat(l.vRowWidth()).isEqualTo(c.vDim());
        }
    }

    @Test
    void rejectsBadShapes() {
        assertThatThrownBy(() -> new KvLayout(0, 2, 64, 64, 16, KvType.F32)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvLayout(2, 2, 64, 64, 0, KvType.F32)).hasMessageContaining("block size");
        assertThatThrownBy(() -> new KvLayout(2, 2, 64, 64, 2048, KvType.F32)).hasMessageContaining("block size");
        assertThatThrownBy(() -> new KvLayout(2, 2, 64, 64, 16, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KvType.parse("q8")).hasMessage("unknown KV type 'q8' (expected one of f32, f16, bf16)");
        assertThat(KvType.parse(" BF16")).isEqualTo(KvType.BF16);
    }
}
