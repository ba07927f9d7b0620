package io.baton.engine.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * The plain way to do what {@link Sampler} does: copy the logits, apply the penalties from their formulas, sort the
 * whole vocabulary, cut by top-k, top-p and min-p, draw. Slow and obvious; the fast sampler must agree with it token
 * for token. The arithmetic (float weights from the scalar kernel, double sums in id order, cumulative sum in rank
 * order) follows the definition in {@link Sampler}'s documentation.
 */
final class ReferenceSampler {
    private final SamplingParams p;
    private final RandomGenerator random;

    ReferenceSampler(SamplingParams p) {
        this.p = p;
        this.random = RandomGeneratorFactory.<RandomGenerator>of("L64X128MixRandom").create(p.seed());
    }

    int sample(float[] input, int vocabSize, TokenCounts history) {
        float[] l = Arrays.copyOf(input, vocabSize);
        for (int t = 0; t < vocabSize; t++) {
            int inPrompt = history == null ? 0 : history.promptCount(t), inOutput = history == null ? 0 : history.generatedCount(t);
            if (p.repetitionPenalty() != 1f && (inPrompt > 0 || inOutput > 0)) l[t] = l[t] > 0 ? l[t] / p.repetitionPenalty() : l[t] * p.repetitionPenalty();
            if (inOutput > 0) l[t] -= p.frequencyPenalty() * inOutput + p.presencePenalty();
        }
        Integer[] ranked = new Integer[vocabSize];
        for (int i = 0; i < vocabSize; i++) ranked[i] = i;
        Comparator<Integer> byRank = (a, b) -> l[a] > l[b] ? -1 : l[a] < l[b] ? 1 : Integer.compare(a, b);
        Arrays.sort(ranked, byRank);
        if (p.temperature() == 0 || p.topK() == 1) return ranked[0]; // greedy: no random number is drawn

        float max = l[ranked[0]], invT = 1f / p.temperature();
        float[] w = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) w[i] = SamplingKernels.weight(l[i], max, invT); // scalar twin of the kernel
        int k = p.topK() > 0 ? Math.min(p.topK(), vocabSize) : vocabSize;
        List<Integer> kept = new ArrayList<>(Arrays.asList(ranked).subList(0, k));
        if (p.topP() < 1f) {
            double z = 0;
            for (int id : kept.stream().sorted().toList()) z += w[id];
            double cumulative = 0;
            int n = 0;
            while (n < kept.size()) {
                cumulative += w[kept.get(n)] / z;
                n++;
                if (cumulative >= p.topP()) break;
            }
            kept = kept.subList(0, n);
        }
        if (p.minP() > 0f) kept = kept.stream().filter(id -> w[id] >= p.minP()).toList();
        List<Integer> byId = kept.stream().sorted().toList();
        double total = 0;
        for (int id : byId) total += w[id];
        double target = random.nextDouble() * total, running = 0;
        int last = byId.getFirst();
        for (int id : byId) {
            if (w[id] == 0f) continue;
            running += w[id];
            last = id;
            if (running > target) return id;
        }
        return last;
    }
}
