package io.baton.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns tokens into text as they arrive. A character may be split over several tokens (byte tokens, byte-level BPE
 * pieces): the bytes of a character that is not complete yet are held back until it is, so no text ever ends in half
 * a character. The concatenation of everything {@link #feed} and {@link #flush} return equals
 * {@link Tokenizer#decode} of all the tokens. Not thread-safe: one per stream.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int n;

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one token; returns the text that is complete now (possibly empty). */
    public String feed(int id) {
        byte[] piece = tokenizer.tokenBytes(id);
        if (n + piece.length > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, n + piece.length));
        System.arraycopy(piece, 0, pending, n, piece.length);
        n += piece.length;
        int cut = completePrefix(pending, n);
        String text = new String(pending, 0, cut, StandardCharsets.UTF_8);
        System.arraycopy(pending, cut, pending, 0, n - cut);
        n -= cut;
        return text;
    }

    /** Returns whatever is held back (an incomplete character becomes U+FFFD) and starts over. */
    public String flush() {
        String text = new String(pending, 0, n, StandardCharsets.UTF_8);
        n = 0;
        return text;
    }

    /**
     * The length of the longest prefix that does not end in the beginning of a UTF-8 sequence that the next bytes
     * could still complete. Decoding never looks across that point: what follows starts with a lead byte.
     */
    static int completePrefix(byte[] b, int len) {
        for (int back = 1; back <= 3 && back <= len; back++) {
            int lead = b[len - back] & 0xFF;
            if (lead < 0x80) return len;          // ASCII: everything up to here is complete
            if (lead < 0xC0) continue;            // continuation byte: look further back for its lead
            int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (lead > 0xF4 || lead < 0xC2 || back >= need) return len; // invalid lead, or the sequence is complete
            if (back >= 2 && !secondByteFits(lead, b[len - back + 1] & 0xFF)) return len; // can never become valid
            return len - back;
        }
        return len;
    }

    /** The allowed range of the byte after a lead byte (Unicode Table 3-7, well-formed UTF-8). */
    private static boolean secondByteFits(int lead, int second) {
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> second >= 0x80 && second <= 0xBF;
        };
    }
}
