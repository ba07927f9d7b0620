package io.baton.bench.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * vLLM's {@code random} dataset: input and output lengths drawn uniformly from
 * {@code [len * (1 - ratio), len * (1 + ratio)]} (integers, both ends included, as vLLM's RandomDataset does), an
 * optional shared prefix of {@code prefixLen} tokens, then random filler text.
 */
public final class RandomDataset {
    private RandomDataset() {}

    public static List<BenchRequest> generate(TextSynth synth, int numPrompts, int inputLen, int outputLen,
                                              double rangeRatio, int prefixLen, long seed) {
        if (rangeRatio < 0 || rangeRatio >= 1) throw new IllegalArgumentException("--random-range-ratio must be in [0, 1), got " + rangeRatio);
        if (inputLen < 1 || outputLen < 1) throw new IllegalArgumentException("--random-input-len and --random-output-len must be >= 1");
        if (prefixLen < 0) throw new IllegalArgumentException("--random-prefix-len must be >= 0");
        SplittableRandom rnd = new SplittableRandom(seed);
        String prefix = synth.text(prefixLen, TextSynth.seed(seed, -1));
        int inLo = Math.max(1, (int) (inputLen * (1 - rangeRatio))), inHi = Math.max(inLo, (int) (inputLen * (1 + rangeRatio)));
        int outLo = Math.max(1, (int) (outputLen * (1 - rangeRatio))), outHi = Math.max(outLo, (int) (outputLen * (1 + rangeRatio)));
        List<BenchRequest> out = new ArrayList<>(numPrompts);
        for (int i = 0; i < numPrompts; i++) {
            int in = rnd.nextInt(inLo, inHi + 1);
            int outLen = rnd.nextInt(outLo, outHi + 1);
            String prompt = prefix + synth.text(in, TextSynth.seed(seed, i));
            out.add(BenchRequest.of(i, prompt, synth.tokenizer().count(prompt), outLen));
        }
        return out;
    }
}
