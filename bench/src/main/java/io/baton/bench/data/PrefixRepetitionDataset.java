package io.baton.bench.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * vLLM's {@code prefix_repetition} dataset: {@code numPrefixes} shared prefixes of {@code prefixLen} tokens, each
 * followed by a unique suffix of {@code suffixLen} tokens; request {@code j} uses prefix {@code j % numPrefixes}, then
 * the order is shuffled with the seed. It measures prefix caching: all but the first use of a prefix can hit.
 */
public final class PrefixRepetitionDataset {
    private PrefixRepetitionDataset() {}

    public static List<BenchRequest> generate(TextSynth synth, int numPrompts, int prefixLen, int suffixLen,
                                              int numPrefixes, int outputLen, long seed) {
        if (numPrefixes < 1) throw new IllegalArgumentException("--prefix-repetition-num-prefixes must be >= 1");
        if (prefixLen < 0 || suffixLen < 0 || prefixLen + suffixLen < 1) {
            throw new IllegalArgumentException("--prefix-repetition-prefix-len/--prefix-repetition-suffix-len must be >= 0 and not both 0");
        }
        if (outputLen < 1) throw new IllegalArgumentException("--prefix-repetition-output-len must be >= 1");
        String[] prefixes = new String[numPrefixes];
        for (int p = 0; p < numPrefixes; p++) prefixes[p] = synth.text(prefixLen, TextSynth.seed(seed, -1 - p));
        List<String> prompts = new ArrayList<>(numPrompts);
        for (int j = 0; j < numPrompts; j++) prompts.add(prefixes[j % numPrefixes] + synth.text(suffixLen, TextSynth.seed(seed, j)));
        Collections.shuffle(prompts, new Random(seed));
        List<BenchRequest> out = new ArrayList<>(numPrompts);
        for (int i = 0; i < numPrompts; i++) {
            String prompt = prompts.get(i);
            out.add(BenchRequest.of(i, prompt, synth.tokenizer().count(prompt), outputLen));
        }
        return out;
    }
}
