package io.baton.worker;

import io.baton.engine.Model;
import io.baton.engine.Sequence;

/**
 * Measures how fast an engine instance prefills, once, before it serves: conditional disaggregation sets its threshold
 * from it ({@code DisaggregatedFlow.thresholdFor}). A prompt of {@link #TOKENS} fixed token ids is run three times in
 * a fresh sequence; the first run warms the JIT and is not counted, the faster of the other two is the measurement.
 */
public final class PrefillProbe {
    /**
     * Prompt length of the probe: long enough to run the batched (prefill) kernels rather than the one-token ones,
     * short enough to cost well under a second on a 1B model on one core.
     */
    public static final int TOKENS = 32;

    private PrefillProbe() {}

    /** Prompt tokens per second {@code model} prefills, on its own thread pool. */
    public static double tokensPerSecond(Model model) {
        int n = Math.max(1, Math.min(TOKENS, model.config().contextLength() - 1));
        int vocab = model.config().vocabSize();
        int[] prompt = new int[n];
        for (int i = 0; i < n; i++) prompt[i] = (1 + 37 * i) % vocab; // any valid ids: speed does not depend on them
        long best = Long.MAX_VALUE;
        for (int run = 0; run < 3; run++) {
            try (Sequence s = model.newSequence(n)) {
                long t0 = System.nanoTime();
                s.forward(prompt, false);
                long dt = System.nanoTime() - t0;
                if (run > 0) best = Math.min(best, dt);
            }
        }
        return n / (Math.max(1, best) / 1e9);
    }
}
