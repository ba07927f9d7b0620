package io.baton.engine.synth;

import java.nio.charset.StandardCharsets;

/**
 * Deterministic pseudo-random weights. Every row of every tensor has its own SplitMix64 stream (Steele, Lea and Flood,
 * "Fast splittable pseudorandom number generators", OOPSLA 2014), seeded from (seed, tensor name, row index), so rows
 * can be generated in any order on any number of threads and a seed always gives the same file.
 *
 * <p>Values are approximately normal: the sum of four 16-bit uniforms from one 64-bit draw (Irwin–Hall), shifted and
 * scaled to mean 0 and variance 1. Its tails stop at ±3.46σ, which suits weights and keeps generation at one draw per
 * value.
 */
final class RandomWeights {
    private RandomWeights() {}

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    /** √3 / 65536: scales the centred sum of four 16-bit uniforms (variance 4·65536²/12) to variance 1. */
    private static final float IRWIN_HALL_SCALE = (float) (Math.sqrt(3.0) / 65536.0);

    /** SplitMix64's output function (a bijective 64-bit mixer). */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A tensor's seed: the run's seed mixed with the FNV-1a hash of the tensor's name. */
    static long tensorSeed(long seed, String tensorName) {
        long h = 0xcbf29ce484222325L;
        for (byte b : tensorName.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix64(mix64(seed) ^ h);
    }

    /** Fills {@code out[0 .. n)} with {@code mean + std · g}, g approximately N(0, 1), for row {@code row} of a tensor. */
    static void fillRow(long tensorSeed, long row, float mean, float std, float[] out, int n) {
        long state = mix64(tensorSeed + row * GOLDEN_GAMMA);
        float scale = std * IRWIN_HALL_SCALE;
        for (int i = 0; i < n; i++) {
            state += GOLDEN_GAMMA;
            long r = mix64(state);
            int sum = (int) (r & 0xffff) + (int) ((r >>> 16) & 0xffff) + (int) ((r >>> 32) & 0xffff) + (int) (r >>> 48);
            out[i] = mean + (sum - 131070) * scale;
        }
    }
}
