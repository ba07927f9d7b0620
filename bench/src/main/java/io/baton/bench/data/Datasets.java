package io.baton.bench.data;

import io.baton.bench.tokens.PromptTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

/** Builds a workload from {@link DatasetOptions}. */
public final class Datasets {
    public static final List<String> KINDS = List.of("random", "sharegpt", "mooncake", "prefix-repetition");

    private Datasets() {}

    public static List<BenchRequest> load(DatasetOptions o, PromptTokenizer tokenizer) throws IOException {
        if (o.numPrompts() < 1) throw new IllegalArgumentException("--num-prompts must be >= 1");
        TextSynth synth = new TextSynth(tokenizer);
        return switch (o.kind()) {
            case "random" -> RandomDataset.generate(synth, o.numPrompts(), o.randomInputLen(), o.randomOutputLen(),
                    o.randomRangeRatio(), o.randomPrefixLen(), o.seed());
            case "prefix-repetition" -> PrefixRepetitionDataset.generate(synth, o.numPrompts(), o.prefixLen(), o.suffixLen(),
                    o.numPrefixes(), o.prefixRepetitionOutputLen(), o.seed());
            case "sharegpt" -> ShareGptDataset.load(file(o), synth, o.numPrompts(), o.sharegptOutputLen(),
                    o.sharegptDefaultOutputLen(), o.seed());
            case "mooncake" -> MooncakeDataset.load(file(o), synth, o.mooncakeStart(), o.numPrompts(),
                    o.mooncakeLengthScale(), o.mooncakeOutputScale(), o.seed());
            default -> throw new IllegalArgumentException("unknown dataset '" + o.kind() + "' (one of " + String.join(", ", KINDS) + ")");
        };
    }

    private static java.nio.file.Path file(DatasetOptions o) {
        if (o.path() == null) throw new IllegalArgumentException("dataset " + o.kind() + " needs --dataset-path");
        if (!Files.isRegularFile(o.path())) throw new IllegalArgumentException("dataset file not found: " + o.path());
        return o.path();
    }
}
