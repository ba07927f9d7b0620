package io.baton.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts special-token text out of the input before the tokenizer proper runs, as llama.cpp's tokenizer_st_partition:
 * for each special token, longest text first, every occurrence in the text fragments left so far becomes that token.
 * User-defined tokens are always cut out (as Hugging Face tokenizers do with added tokens); control and unknown
 * tokens only when special text is parsed.
 */
final class SpecialTokenSplitter {
    private SpecialTokenSplitter() {}

    /** A piece of the input: a token already decided ({@code token >= 0}), or the text {@code [start, end)}. */
    record Fragment(int token, int start, int end) {
        boolean isText() {
            return token < 0;
        }
    }

    static List<Fragment> split(Vocab vocab, String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : vocab.specialTokens) {
            int attr = vocab.attrs[id];
            if (!parseSpecial && (attr & (Vocab.CONTROL | Vocab.UNKNOWN)) != 0) continue;
            String special = vocab.texts[id];
            if (!text.contains(special)) continue; // the common case: one scan, no copying
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.isText()) cut(text, f.start, f.end, id, special, attr, next);
                else next.add(f);
            }
            fragments = next;
        }
        return fragments;
    }

    private static void cut(String text, int start, int end, int id, String special, int attr, List<Fragment> out) {
        int pos = start;
        while (true) {
            int match = text.indexOf(special, pos);
            if (match < 0 || match + special.length() > end) break;
            int leftEnd = match;
            if ((attr & Vocab.LSTRIP) != 0) while (leftEnd > pos && isSpace(text.charAt(leftEnd - 1))) leftEnd--;
            if (leftEnd > pos) out.add(new Fragment(-1, pos, leftEnd));
            out.add(new Fragment(id, 0, 0));
            pos = match + special.length();
            if ((attr & Vocab.RSTRIP) != 0) while (pos < end && isSpace(text.charAt(pos))) pos++;
        }
        if (pos < end) out.add(new Fragment(-1, pos, end));
    }

    /** C's isspace in the "C" locale, which llama.cpp uses for the strip attributes. */
    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
