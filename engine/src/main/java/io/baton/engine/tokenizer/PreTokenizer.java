package io.baton.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, as llama.cpp's unicode_regex_split does for the pre-tokenizer named
 * by {@code tokenizer.ggml.pre}. Each stage splits every piece the previous stage left.
 *
 * <p>llama.cpp runs the GPT-2 and Llama-3 expressions through hand-written matchers (unicode.cpp
 * unicode_regex_split_custom_gpt2 / _llama3), whose few departures from a true regex engine decide real cases, so
 * those two are hand-written here too, with the same rules. Other expressions run in std::regex over a "collapsed"
 * text where every non-ASCII code point is replaced by one byte standing for its class (letter, number, ...,
 * whitespace as '\v'); they run here in java.util.regex over the same collapsed text, where, as in ECMAScript,
 * alternation takes the first alternative that matches and {@code \s} is {@code [ \t\n\x0B\f\r]}.
 */
final class PreTokenizer {
    private static final Logger LOG = Logger.getLogger(PreTokenizer.class.getName());
    /** Names llama.cpp maps to its Llama-3 pre-tokenizer (which also skips merges for whole-word tokens and adds BOS). */
    private static final Set<String> LLAMA3 = Set.of("llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral");
    /** Names that use the Llama-3 expression without its other settings. */
    private static final Set<String> LLAMA3_REGEX = Set.of("dbrx", "smaug-bpe");
    private static final Set<String> QWEN2 = Set.of("qwen2", "deepseek-r1-qwen", "stablelm2", "megrez");
    private static final Set<String> GPT2 = Set.of("gpt-2", "phi-2", "mpt", "olmo");

    /** Every name this class accepts, for error messages. */
    static final String SUPPORTED = "default, " + String.join(", ", sorted(LLAMA3)) + ", " + String.join(", ", sorted(LLAMA3_REGEX))
            + ", " + String.join(", ", sorted(QWEN2)) + ", " + String.join(", ", sorted(GPT2));

    // Collapsed classes (llama.cpp uses the bytes 0xD0..0xD5; private-use characters cannot clash with real text).
    private static final char OTHER = '\uE0D0', NUMBER = '\uE0D1', LETTER = '\uE0D2', PUNCT = '\uE0D3', ACCENT = '\uE0D4',
            SYMBOL = '\uE0D5';
    private static final String L = LETTER + "A-Za-z", N = NUMBER + "0-9", P = PUNCT + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";

    /** Qwen2's expression (llama-vocab.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2) with \p{L} and \p{N} collapsed. */
    private static final Pattern QWEN2_PATTERN = Pattern.compile(
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n" + L + N + "]?[" + L + "]+|[" + N + "]"
                    + "| ?[^\\s" + L + N + "]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    private final String name;
    private final List<Stage> stages;
    final boolean ignoreMerges;

    private PreTokenizer(String name, List<Stage> stages, boolean ignoreMerges) {
        this.name = name;
        this.stages = stages;
        this.ignoreMerges = ignoreMerges;
    }

    static boolean isLlama3(String pre) {
        return LLAMA3.contains(pre);
    }

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value ("" when absent: llama.cpp's default, with a warning). */
    static PreTokenizer forName(String pre) {
        if (pre.isEmpty()) {
            LOG.warning("tokenizer.ggml.pre is missing: using llama.cpp's 'default' pre-tokenizer, as llama.cpp does "
                    + "(it warns that generation quality will be degraded; reconvert the model)");
        }
        if (pre.isEmpty() || pre.equals("default")) {
            // llama-vocab.cpp "default regex for BPE tokenization pre-processing"
            return new PreTokenizer(pre, List.of(
                    new RegexStage(Pattern.compile("[" + P + "\\$\\+<=>\\^~\\|]+")),
                    PreTokenizer::gpt2,
                    new RegexStage(Pattern.compile("[" + N + "]+")),
                    new RegexStage(Pattern.compile("[0-9][0-9][0-9]"))), false);
        }
        if (LLAMA3.contains(pre)) return new PreTokenizer(pre, List.of(PreTokenizer::llama3), true);
        if (LLAMA3_REGEX.contains(pre)) return new PreTokenizer(pre, List.of(PreTokenizer::llama3), false);
        if (QWEN2.contains(pre)) return new PreTokenizer(pre, List.of(new RegexStage(QWEN2_PATTERN)), false);
        if (GPT2.contains(pre)) return new PreTokenizer(pre, List.of(PreTokenizer::gpt2), false);
        throw new TokenizerException("unsupported pre-tokenizer tokenizer.ggml.pre = '" + pre + "' (supported: " + SUPPORTED + ")");
    }

    /**
     * Splits code points into words.
     *
     * @return the word lengths in code points, in order; they add up to {@code cps.length}
     */
    int[] split(int[] cps) {
        Text text = new Text(cps);
        IntList pieces = new IntList(16);
        if (cps.length > 0) pieces.add(cps.length);
        for (Stage stage : stages) {
            IntList next = new IntList(pieces.size() * 2 + 16);
            int start = 0;
            for (int i = 0; i < pieces.size(); i++) {
                int end = start + pieces.get(i);
                stage.split(text, start, end, next);
                start = end;
            }
            pieces = next;
        }
        return pieces.toArray();
    }

    @Override
    public String toString() {
        return name.isEmpty() ? "default" : name;
    }

    /** One splitting step: appends the lengths of the sub-pieces of {@code [from, to)} to {@code out}. */
    @FunctionalInterface
    private interface Stage {
        void split(Text text, int from, int to, IntList out);
    }

    /** Code points of a text, with the collapsed form built on first use. */
    private static final class Text {
        final int[] cps;
        private String collapsed;

        Text(int[] cps) {
            this.cps = cps;
        }

        String collapsed() {
            if (collapsed == null) {
                char[] c = new char[cps.length];
                for (int i = 0; i < cps.length; i++) c[i] = collapse(cps[i]);
                collapsed = new String(c);
            }
            return collapsed;
        }

        private static char collapse(int cp) {
            if (cp < 128) return (char) cp;
            if (Unicode.isWhitespace(cp)) return '\u000B';
            if (Unicode.isLetter(cp)) return LETTER;
            if (Unicode.isNumber(cp)) return NUMBER;
            if (Unicode.isPunctuation(cp)) return PUNCT;
            if (Unicode.isAccentMark(cp)) return ACCENT;
            if (Unicode.isSymbol(cp)) return SYMBOL;
            return OTHER;
        }
    }

    /** std::regex_iterator over the piece: every match is a word, and so is every gap between matches. */
    private record RegexStage(Pattern pattern) implements Stage {
        @Override
        public void split(Text text, int from, int to, IntList out) {
            // Default (opaque) region bounds: the lookahead cannot see past the piece, as std::regex cannot.
            Matcher m = pattern.matcher(text.collapsed()).region(from, to);
            int last = from;
            while (m.find()) {
                if (m.start() > last) out.add(m.start() - last);
                if (m.end() > m.start()) out.add(m.end() - m.start());
                last = m.end();
            }
            if (last < to) out.add(to - last);
        }
    }

    // ---- hand-written matchers ---------------------------------------------------------------------------------

    private static final int OUT_OF_RANGE = -1;

    /** A cursor over one piece that adds words as it goes. */
    private static final class Words {
        final int[] cps;
        final int from, to;
        final IntList out;
        int prevEnd;

        Words(Text text, int from, int to, IntList out) {
            this.cps = text.cps;
            this.from = from;
            this.to = to;
            this.out = out;
            this.prevEnd = from;
        }

        int cpt(int pos) {
            return pos >= from && pos < to ? cps[pos] : OUT_OF_RANGE;
        }

        boolean letter(int pos) {
            return pos >= from && pos < to && Unicode.isLetter(cps[pos]);
        }

        boolean number(int pos) {
            return pos >= from && pos < to && Unicode.isNumber(cps[pos]);
        }

        boolean space(int pos) {
            return pos >= from && pos < to && Unicode.isWhitespace(cps[pos]);
        }

        /** Whether {@code pos} is in range: llama.cpp's "flags.as_uint() != 0" (every code point has some class). */
        boolean any(int pos) {
            return pos >= from && pos < to;
        }

        /** Ends a word at {@code end}; returns its length. */
        int word(int end) {
            int len = end - prevEnd;
            if (len > 0) out.add(len);
            prevEnd = end;
            return len;
        }

        /** {@code 's|'t|'re|'ve|'m|'ll|'d} at pos (case-insensitive when asked): the end of the match, or -1. */
        int contraction(int pos, boolean ignoreCase) {
            if (cpt(pos) != '\'' || pos + 1 >= to) return -1;
            int c1 = lower(cpt(pos + 1), ignoreCase);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
            if (pos + 2 < to) {
                int c2 = lower(cpt(pos + 2), ignoreCase);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
            }
            return -1;
        }

        private static int lower(int cp, boolean ignoreCase) {
            return ignoreCase && cp >= 0 ? Character.toLowerCase(cp) : cp;
        }
    }

    /** GPT-2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}. */
    private static void gpt2(Text text, int from, int to, IntList out) {
        Words w = new Words(text, from, to, out);
        for (int pos = from; pos < to; ) {
            int cpt = w.cpt(pos);
            int c = w.contraction(pos, false);
            if (c >= 0) {
                pos += w.word(c);
                continue;
            }
            int p2 = cpt == ' ' ? pos + 1 : pos; // where the class after an optional space is tested
            if (w.letter(p2)) {
                pos = p2;
                while (w.letter(pos)) pos++;
                w.word(pos);
                continue;
            }
            if (w.number(p2)) {
                pos = p2;
                while (w.number(pos)) pos++;
                w.word(pos);
                continue;
            }
            if (w.any(p2) && !w.space(p2) && !w.letter(p2) && !w.number(p2)) {
                pos = p2;
                while (w.any(pos) && !w.space(pos) && !w.letter(pos) && !w.number(pos)) pos++;
                w.word(pos);
                continue;
            }
            pos = whitespace(w, pos, false);
        }
    }

    /**
     * Llama 3: {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|}
     * {@code \s*[\r\n]+|\s+(?!\S)|\s+}.
     */
    private static void llama3(Text text, int from, int to, IntList out) {
        Words w = new Words(text, from, to, out);
        for (int pos = from; pos < to; ) {
            int cpt = w.cpt(pos);
            int c = w.contraction(pos, true);
            if (c >= 0) {
                pos += w.word(c);
                continue;
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+ : one optional leading character that is not a newline or number
            if (!(cpt == '\r' || cpt == '\n' || w.number(pos)) && (w.letter(pos) || w.letter(pos + 1))) {
                pos++;
                while (w.letter(pos)) pos++;
                w.word(pos);
                continue;
            }
            if (w.number(pos)) { // \p{N}{1,3}
                int start = pos;
                while (w.number(pos)) {
                    if (++pos - start >= 3) {
                        w.word(pos);
                        start = pos;
                    }
                }
                w.word(pos);
                continue;
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*" -- llama.cpp tests the current code point for "in range" here, so a lone
            // space at the end of a piece is taken by this branch (as a one-space word, the same result as \s+).
            int p2 = cpt == ' ' ? pos + 1 : pos;
            if (!w.space(p2) && !w.letter(p2) && !w.number(p2)) {
                pos = p2;
                while (w.any(pos) && !w.space(pos) && !w.letter(pos) && !w.number(pos)) pos++;
                while (w.cpt(pos) == '\r' || w.cpt(pos) == '\n') pos++;
                w.word(pos);
                continue;
            }
            pos = whitespace(w, pos, true);
        }
    }

    /** The whitespace alternatives at {@code pos}: {@code \s*[\r\n]+} (Llama 3 only), {@code \s+(?!\S)}, {@code \s+}. */
    private static int whitespace(Words w, int pos, boolean newlineRule) {
        int n = 0;
        int lastNewlineEnd = -1;
        while (w.space(pos + n)) {
            int c = w.cpt(pos + n);
            if (c == '\r' || c == '\n') lastNewlineEnd = pos + n + 1;
            n++;
        }
        if (newlineRule && lastNewlineEnd >= 0) {
            w.word(lastNewlineEnd);
            return lastNewlineEnd;
        }
        if (n > 1 && w.cpt(pos + n) != OUT_OF_RANGE) { // \s+(?!\S): leave the last space to the next word
            pos += n - 1;
            w.word(pos);
            return pos;
        }
        if (n > 0) {
            pos += n;
            w.word(pos);
            return pos;
        }
        w.word(pos + 1); // no alternative matches: the code point is a word by itself
        return pos + 1;
    }

    private static List<String> sorted(Set<String> s) {
        List<String> l = new ArrayList<>(s);
        l.sort(null);
        return l;
    }
}
