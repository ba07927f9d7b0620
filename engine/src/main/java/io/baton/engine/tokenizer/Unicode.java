package io.baton.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * The code point classes that llama.cpp's pre-tokenizers look at (src/unicode.cpp, unicode_cpt_flags): letter
 * {@code \p{L}}, number {@code \p{N}} and whitespace. llama.cpp generates its tables from Python's {@code regex}
 * module; here they come from {@link Character#getType}, which agrees except for code points assigned in a Unicode
 * version one of the two does not know yet.
 */
final class Unicode {
    private Unicode() {}

    /**
     * llama.cpp's whitespace set (unicode-data.cpp unicode_set_whitespace: the Unicode White_Space property). Note
     * that U+001C..U+001F, which {@link Character#isWhitespace} accepts, are not in it.
     */
    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    static boolean isLetter(int cp) {
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> true;
            default -> false;
        };
    }

    static boolean isNumber(int cp) {
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    static boolean isPunctuation(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static boolean isAccentMark(int cp) {
        return switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> true;
            default -> false;
        };
    }

    static boolean isSymbol(int cp) {
        return switch (Character.getType(cp)) {
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> true;
            default -> false;
        };
    }

    /**
     * The code points of a string, as llama.cpp's unicode_cpts_from_utf8 sees the UTF-8 bytes of it. A lone surrogate
     * (a Java string that is not valid UTF-16) becomes U+FFFD, as an invalid UTF-8 sequence does there.
     */
    static int[] codePoints(String s) {
        int[] out = new int[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            out[n++] = Character.isSurrogate((char) cp) && cp < 0x10000 ? 0xFFFD : cp;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** The string with every lone surrogate replaced by U+FFFD, so that its UTF-8 encoding loses nothing. */
    static String wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                int[] cps = codePoints(s);
                return new String(cps, 0, cps.length);
            }
        }
        return s;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
