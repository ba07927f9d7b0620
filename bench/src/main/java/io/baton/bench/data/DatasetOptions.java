package io.baton.bench.data;

import java.nio.file.Path;

/**
 * Everything that chooses a workload; field names follow {@code vllm bench serve}'s flags.
 *
 * @param kind            {@code random}, {@code sharegpt}, {@code mooncake} or {@code prefix-repetition}
 * @param path            the dataset file ({@code sharegpt}, {@code mooncake})
 * @param numPrompts      number of requests
 * @param seed            seed of every random choice
 */
public record DatasetOptions(
        String kind, Path path, int numPrompts, long seed,
        int randomInputLen, int randomOutputLen, double randomRangeRatio, int randomPrefixLen,
        int sharegptOutputLen, int sharegptDefaultOutputLen,
        int mooncakeStart, double mooncakeLengthScale, double mooncakeOutputScale,
        int prefixLen, int suffixLen, int numPrefixes, int prefixRepetitionOutputLen) {

    /** vLLM's defaults: 1000 prompts, random 1024 in / 128 out, prefix repetition 256 + 256 with 10 prefixes, 128 out. */
    public static DatasetOptions defaults(String kind) {
        return new DatasetOptions(kind, null, 1000, 0, 1024, 128, 0.0, 0, 0, 256, 0, 1.0, 1.0, 256, 256, 10, 128);
    }

    public DatasetOptions withNumPrompts(int n) {
        return new DatasetOptions(kind, path, n, seed, randomInputLen, randomOutputLen, randomRangeRatio, randomPrefixLen,
                sharegptOutputLen, sharegptDefaultOutputLen, mooncakeStart, mooncakeLengthScale, mooncakeOutputScale,
                prefixLen, suffixLen, numPrefixes, prefixRepetitionOutputLen);
    }

    public DatasetOptions withPath(Path p) {
        return new DatasetOptions(kind, p, numPrompts, seed, randomInputLen, randomOutputLen, randomRangeRatio, randomPrefixLen,
                sharegptOutputLen, sharegptDefaultOutputLen, mooncakeStart, mooncakeLengthScale, mooncakeOutputScale,
                prefixLen, suffixLen, numPrefixes, prefixRepetitionOutputLen);
    }

    public DatasetOptions withRandom(int in, int out, double ratio, int prefix) {
        return new DatasetOptions(kind, path, numPrompts, seed, in, out, ratio, prefix,
                sharegptOutputLen, sharegptDefaultOutputLen, mooncakeStart, mooncakeLengthScale, mooncakeOutputScale,
                prefixLen, suffixLen, numPrefixes, prefixRepetitionOutputLen);
    }
}
