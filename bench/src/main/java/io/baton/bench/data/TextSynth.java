package io.baton.bench.data;

import io.baton.bench.tokens.PromptTokenizer;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Makes filler text of an exact token count: random common English words (each one or two tokens in any English BPE
 * vocabulary), encoded with the sizing tokenizer and cut to the count. Like vLLM's random dataset the text carries no
 * meaning; unlike random token ids it never decodes to special tokens, and pieces made separately can be joined
 * (every piece starts with a space, so a BPE tokenizer does not merge across the seam).
 */
public final class TextSynth {
    private static final String[] WORDS = (
            "the of and to in is you that it he was for on are as with his they at be this have from or one had by"
            + " word but not what all were we when your can said there use an each which she do how their if will up"
            + " other about out many then them these so some her would make like him into time has look two more write"
            + " go see number no way could people my than first water been call who oil its now find long down day did"
            + " get come made may part over new sound take only little work know place year live me back give most very"
            + " after thing our just name good sentence man think say great where help through much before line right"
            + " too mean old any same tell boy follow came want show also around form three small set put end does"
            + " another well large must big even such because turn here why ask went men read need land different home"
            + " us move try kind hand picture again change off play spell air away animal house point page letter"
            + " mother answer found study still learn should world high every near add food between own below country"
            + " plant last school father keep tree never start city earth eye light thought head under story saw left"
            + " few while along might close something seem next hard open example begin life always those both paper"
            + " together got group often run important until children side feet car mile night walk white sea began").split(" ");

    private final PromptTokenizer tokenizer;

    public TextSynth(PromptTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public PromptTokenizer tokenizer() {
        return tokenizer;
    }

    /** Token ids of {@code tokens} tokens of filler text, the same for the same seed. */
    public int[] ids(int tokens, long seed) {
        if (tokens <= 0) return new int[0];
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(tokens * 5);
        int[] ids;
        int words = tokens + 4;
        do {
            for (int i = 0; i < words; i++) sb.append(' ').append(WORDS[rnd.nextInt(WORDS.length)]);
            ids = tokenizer.encode(sb.toString());
            words = Math.max(8, (tokens - ids.length) * 2);
        } while (ids.length < tokens);
        return Arrays.copyOf(ids, tokens);
    }

    /** Filler text of (with the approximate tokenizer exactly, with a BPE vocabulary about) {@code tokens} tokens. */
    public String text(int tokens, long seed) {
        return tokenizer.decode(ids(tokens, seed));
    }

    /** A well-mixed seed for item {@code k} of stream {@code base} (SplittableRandom's own mixing, as in SplitMix64). */
    public static long seed(long base, long k) {
        long z = base * 0x9E3779B97F4A7C15L + k;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
