package io.baton.engine.synth;

import io.baton.engine.tensor.GgmlType;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The weight types a synthetic model can have: the type of every 2-D weight matrix (embedding included), while norms,
 * biases and RoPE factors stay F32 as llama.cpp keeps them. This is a "pure" file, as {@code llama-quantize --pure}
 * writes, not llama.cpp's mixed Q4_K_M recipe.
 *
 * <p>K-quants need rows that are a multiple of 256; a matrix whose rows are not (e.g. qwen2.5-0.5b's 896-wide rows)
 * falls back to a legacy type of about the same size that Baton runs: Q4_K → Q4_0, Q6_K → Q8_0. (llama.cpp falls back
 * to Q5_0 and Q8_0 in that case; Q5_0 is not a Baton type.)
 *
 * @param fileType the {@code general.file_type} value, llama.cpp's {@code llama_ftype}: ALL_F32 0, MOSTLY_F16 1,
 *                 MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_M 15 (what {@code llama-quantize --pure Q4_K_M} writes),
 *                 MOSTLY_Q6_K 18, MOSTLY_BF16 32
 */
public enum WeightType {
    F32(GgmlType.F32, 0, null),
    F16(GgmlType.F16, 1, null),
    BF16(GgmlType.BF16, 32, null),
    Q8_0(GgmlType.Q8_0, 7, null),
    Q4_0(GgmlType.Q4_0, 2, null),
    Q4_K(GgmlType.Q4_K, 15, GgmlType.Q4_0),
    Q6_K(GgmlType.Q6_K, 18, GgmlType.Q8_0);

    public final GgmlType ggml;
    public final int fileType;
    private final GgmlType fallback;

    WeightType(GgmlType ggml, int fileType, GgmlType fallback) {
        this.ggml = ggml;
        this.fileType = fileType;
        this.fallback = fallback;
    }

    /** The name on the command line: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type of a matrix with rows of {@code cols} elements. */
    public GgmlType matrixType(long cols) {
        return cols % ggml.blockSize == 0 || fallback == null ? ggml : fallback;
    }

    public static Optional<WeightType> parse(String s) {
        return Arrays.stream(values()).filter(t -> t.cliName().equalsIgnoreCase(s)).findFirst();
    }

    public static String names() {
        return Arrays.stream(values()).map(WeightType::cliName).collect(Collectors.joining(", "));
    }
}
