package io.baton.bench.data;

import java.util.function.Supplier;

/**
 * One request of a workload.
 *
 * @param index        position in the workload (0-based); also sent as the {@code X-Request-Id} suffix
 * @param prompt       the prompt text, made when asked (Mooncake prompts are large, so they are made just before sending)
 * @param inputTokens  prompt length in the sizing tokenizer's tokens
 * @param outputTokens output length asked for ({@code max_tokens})
 * @param traceTime    arrival time in seconds from the trace's first request, or NaN when the dataset has none
 */
public record BenchRequest(int index, Supplier<String> prompt, int inputTokens, int outputTokens, double traceTime) {
    public BenchRequest {
        if (inputTokens < 0 || outputTokens < 1) {
            throw new IllegalArgumentException("request " + index + ": bad lengths " + inputTokens + "/" + outputTokens);
        }
    }

    public static BenchRequest of(int index, String prompt, int inputTokens, int outputTokens) {
        return new BenchRequest(index, () -> prompt, inputTokens, outputTokens, Double.NaN);
    }

    public boolean hasTraceTime() {
        return !Double.isNaN(traceTime);
    }
}
