package io.baton.engine.synth;

import io.baton.engine.model.Architecture;
import io.baton.engine.synth.ModelShape.Llama3Rope;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Shapes of real models, from their {@code config.json} on Hugging Face (hidden_size, num_hidden_layers,
 * num_attention_heads, num_key_value_heads, head_dim, intermediate_size, vocab_size, max_position_embeddings,
 * rope_theta, rms_norm_eps, tie_word_embeddings, rope_scaling):
 * <ul>
 *   <li>Qwen/Qwen2.5-0.5B-Instruct and Qwen2.5-1.5B-Instruct (qwen2: Q/K/V biases, NEOX RoPE);</li>
 *   <li>meta-llama/Llama-3.2-1B and Llama-3.2-3B (llama, Llama-3 RoPE scaling: factor 32, low 1, high 4,
 *       original context 8192);</li>
 *   <li>Qwen/Qwen3-0.6B (qwen3: per-head Q/K RMSNorm, head_dim 128 independent of the hidden size);</li>
 *   <li>HuggingFaceTB/SmolLM2-135M (llama).</li>
 * </ul>
 */
public final class ModelShapes {
    private ModelShapes() {}

    private static final Llama3Rope LLAMA_3_2_ROPE = new Llama3Rope(32f, 1f, 4f, 8192);

    public static final List<ModelShape> ALL = List.of(
            new ModelShape("qwen2.5-0.5b", Architecture.QWEN2, 896, 24, 14, 2, 64, 4864, 151936, 32768, 1e6f, 1e-6f, true, null),
            new ModelShape("qwen2.5-1.5b", Architecture.QWEN2, 1536, 28, 12, 2, 128, 8960, 151936, 32768, 1e6f, 1e-6f, true, null),
            new ModelShape("llama-3.2-1b", Architecture.LLAMA, 2048, 16, 32, 8, 64, 8192, 128256, 131072, 5e5f, 1e-5f, true, LLAMA_3_2_ROPE),
            new ModelShape("llama-3.2-3b", Architecture.LLAMA, 3072, 28, 24, 8, 128, 8192, 128256, 131072, 5e5f, 1e-5f, true, LLAMA_3_2_ROPE),
            new ModelShape("qwen3-0.6b", Architecture.QWEN3, 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1e6f, 1e-6f, true, null),
            new ModelShape("smollm2-135m", Architecture.LLAMA, 576, 30, 9, 3, 64, 1536, 49152, 8192, 1e5f, 1e-5f, true, null));

    public static Optional<ModelShape> find(String name) {
        return ALL.stream().filter(s -> s.name().equalsIgnoreCase(name)).findFirst();
    }

    /** The known names, comma-separated (for error messages and help). */
    public static String names() {
        return ALL.stream().map(ModelShape::name).collect(Collectors.joining(", "));
    }
}
