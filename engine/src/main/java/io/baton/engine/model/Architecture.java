package io.baton.engine.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The model families Baton runs, named as GGUF's {@code general.architecture} names them, with what sets them apart
 * (llama.cpp's {@code llm_build_llama}, {@code llm_build_qwen2}, {@code llm_build_qwen3}).
 */
public enum Architecture {
    /** Llama 2/3/3.1/3.2: RoPE on adjacent pairs (GGML's normal mode; the converter permuted Q/K for it). */
    LLAMA("llama", false, false, false),
    /** Qwen2/2.5: biases on Q, K and V; NEOX RoPE. */
    QWEN2("qwen2", true, true, false),
    /** Qwen3: per-head RMSNorm of Q and K before RoPE, no biases; NEOX RoPE; head_dim independent of the hidden size. */
    QWEN3("qwen3", true, false, true);

    /** The {@code general.architecture} value, also the prefix of the family's metadata keys. */
    public final String ggufName;
    /** RoPE rotates (i, i + d/2) pairs (GGML_ROPE_TYPE_NEOX) instead of (2i, 2i+1). */
    public final boolean neoxRope;
    public final boolean qkvBias;
    public final boolean qkNorm;

    Architecture(String ggufName, boolean neoxRope, boolean qkvBias, boolean qkNorm) {
        this.ggufName = ggufName;
        this.neoxRope = neoxRope;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) return a;
        }
        throw new UnsupportedModelException("unsupported model architecture '" + name + "' (supported: "
                + Arrays.stream(values()).map(a -> a.ggufName).collect(Collectors.joining(", ")) + ")");
    }
}
