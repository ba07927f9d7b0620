package io.baton.bench.metrics;

/**
 * One request's measurements. Times are seconds from the start of the run.
 *
 * @param scheduledTime         when the arrival process wanted it sent
 * @param sendTime              when the client started it (later than scheduled when {@code --max-concurrency} held it)
 * @param tokenTimes            arrival of each chunk that carried generated text
 * @param endTime               arrival of the last data event (or of the failure)
 * @param inputTokens           prompt tokens as the dataset sized them
 * @param serverInputTokens     {@code usage.prompt_tokens} as the server counted them (with the chat template), or -1
 * @param outputTokens          generated tokens: the server's {@code usage.completion_tokens}, else the number of chunks
 * @param requestedOutputTokens {@code max_tokens} sent
 * @param errorCode             null when completed
 */
public record RequestResult(int index, double scheduledTime, double sendTime, double[] tokenTimes, double endTime,
                            int inputTokens, int serverInputTokens, int outputTokens, int requestedOutputTokens,
                            String errorCode, String errorMessage) {

    public boolean ok() {
        return errorCode == null;
    }

    /** Time to first token: first text chunk minus send time. */
    public double ttft() {
        return tokenTimes.length == 0 ? Double.NaN : tokenTimes[0] - sendTime;
    }

    /** End-to-end latency: last event minus send time. */
    public double e2el() {
        return endTime - sendTime;
    }

    /** Time per output token after the first, as vLLM: {@code (e2el - ttft) / (output_tokens - 1)}; NaN for one token. */
    public double tpot() {
        return outputTokens > 1 && tokenTimes.length > 0 ? (e2el() - ttft()) / (outputTokens - 1) : Double.NaN;
    }

    /** Inter-token latencies: every gap between consecutive text chunks. */
    public double[] itls() {
        double[] g = new double[Math.max(0, tokenTimes.length - 1)];
        for (int i = 0; i < g.length; i++) g[i] = tokenTimes[i + 1] - tokenTimes[i];
        return g;
    }
}
