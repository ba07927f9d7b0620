package io.baton.engine.tensor;

/**
 * {@code e^x} for {@code x <= 0} built only from IEEE float additions, multiplications and exponent bit tricks, never
 * a fused multiply-add or a library routine: a vector loop that spells out the same operations in the same order
 * gives bit-identical results in every JIT tier and on every CPU ({@code Math.exp} costs about 15 ns per call here;
 * the Vector API's {@code lanewise(EXP)} is fast, but its result depends on whether the loop was compiled). Used by
 * sampling's softmax weights and by the MLP's SiLU ({@link Activations}); each of them writes the vector form out in
 * its own loop, since a helper method taking a vector might not be inlined (the rules in {@link Vec}).
 *
 * <p>{@code exp(x) = 2^n * e^r}, {@code n = round(x / ln 2)}, {@code r = x - n ln 2} split in two parts (Cody and
 * Waite) so that {@code n * LN2_HI} is exact; {@code e^r} on {@code |r| <= ln2 / 2} by its Taylor series to
 * {@code r^7} (truncation error below 1e-8 relative).
 */
public final class FastExp {
    private FastExp() {}

    public static final float LOG2E = 1.44269504f;
    public static final float LN2_HI = 0.693145751953125f; // 0x3F317200: 15 significant bits
    public static final float LN2_LO = 1.42860677e-6f;
    /** 1.5 * 2^23: adding and subtracting it rounds to an integer. */
    public static final float ROUND = 12582912f;
    /** Below ln(FLT_MIN) the result would be subnormal: it is flushed to 0. */
    public static final float MIN_ARG = -87.33654f;
    public static final float C7 = 1f / 5040, C6 = 1f / 720, C5 = 1f / 120, C4 = 1f / 24, C3 = 1f / 6, C2 = 0.5f;

    /**
     * {@code e^x} for {@code x <= 0} (and -infinity), relative error about 1e-7; 0 below {@value #MIN_ARG} and for
     * NaN. The scalar twin of the vector loops.
     */
    public static float expNonPositive(float x) {
        if (!(x >= MIN_ARG)) return 0f;
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = (x - n * LN2_HI) - n * LN2_LO;
        float p = ((((((C7 * r + C6) * r + C5) * r + C4) * r + C3) * r + C2) * r + 1f) * r + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
