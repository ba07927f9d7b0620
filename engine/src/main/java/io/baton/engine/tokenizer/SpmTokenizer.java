package io.baton.engine.tokenizer;

import io.baton.engine.tokenizer.SpecialTokenSplitter.Fragment;

import java.util.List;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE as llama.cpp runs it ({@code tokenizer.ggml.model = llama}; llm_tokenizer_spm in
 * llama-vocab.cpp): spaces become '▁' (with one prepended to text at the start or after a special token when
 * {@code add_space_prefix}), the text starts as one symbol per character, and the adjacent pair whose concatenation
 * is the vocabulary token with the highest score is merged, again and again, leftmost first on ties. A character
 * left that is no token is written as its UTF-8 bytes with the byte tokens {@code <0xAB>}.
 *
 * <p>Where the vocabulary has no byte tokens for a character (TinyStories-656K has none at all), llama.cpp throws
 * ({@code unordered_map::at}); this writes the unknown token for that character instead.
 */
final class SpmTokenizer extends VocabTokenizer {
    /** Token for each byte value, or -1: {@code <0xAB>}, else (as llama.cpp's byte_to_token) a one-byte token. */
    private final int[] byteTokens = new int[256];

    SpmTokenizer(Vocab vocab) {
        super(vocab);
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) id = vocab.id(String.valueOf((char) b));
            byteTokens[b] = id;
        }
    }

    @Override
    void encodeFragments(String text, List<Fragment> fragments, IntList out) {
        boolean afterSpecial = true; // the start of the text counts as "after a special token"
        for (Fragment f : fragments) {
            if (!f.isText()) {
                out.add(f.token());
                afterSpecial = true;
                continue;
            }
            String piece = text.substring(f.start(), f.end());
            if (vocab.addSpacePrefix && afterSpecial) piece = " " + piece;
            tokenize(piece.replace(' ', '▁'), out);
            afterSpecial = false;
        }
    }

    /** A candidate merge of symbol {@code left} with the symbol after it, worth {@code score}. */
    private record Bigram(int left, int right, float score, int length) {}

    /** Highest score first; on ties the leftmost (llm_bigram_spm::comparator). */
    private static int compare(Bigram a, Bigram b) {
        if (a.score != b.score) return a.score > b.score ? -1 : 1;
        return Integer.compare(a.left, b.left);
    }

    private void tokenize(String s, IntList out) {
        // Symbols: [start, start + len) in s, linked in a list; len 0 once merged into the symbol before.
        int cap = s.length();
        int[] start = new int[cap], len = new int[cap], prev = new int[cap], next = new int[cap];
        int n = 0;
        for (int i = 0; i < s.length(); ) {
            int c = Character.charCount(s.codePointAt(i));
            start[n] = i;
            len[n] = c;
            prev[n] = n - 1;
            i += c;
            next[n] = i == s.length() ? -1 : n + 1;
            n++;
        }
        if (n == 0) return;

        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n), SpmTokenizer::compare);
        for (int i = 1; i < n; i++) addBigram(s, i - 1, i, start, len, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            // Stale when either side has been merged since the pair was queued: the lengths no longer add up.
            if (len[b.left] == 0 || len[b.right] == 0 || len[b.left] + len[b.right] != b.length) continue;
            len[b.left] += len[b.right];
            len[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) prev[next[b.right]] = b.left;
            addBigram(s, prev[b.left], b.left, start, len, queue);
            addBigram(s, b.left, next[b.left], start, len, queue);
        }

        for (int i = 0; i != -1; i = next[i]) {
            String piece = s.substring(start[i], start[i] + len[i]);
            int id = vocab.id(piece);
            if (id >= 0) out.add(id);
            else bytes(piece, out);
        }
    }

    private void addBigram(String s, int left, int right, int[] start, int[] len, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        int length = len[left] + len[right];
        int id = vocab.id(s.substring(start[left], start[left] + length));
        if (id >= 0) queue.add(new Bigram(left, right, vocab.scores[id], length));
    }

    /** A character that is no token: its UTF-8 bytes as byte tokens, or the unknown token where one is missing. */
    private void bytes(String character, IntList out) {
        byte[] utf8 = Unicode.utf8(character);
        for (byte b : utf8) {
            if (byteTokens[b & 0xFF] < 0) {
                if (vocab.unk < 0) {
                    throw new TokenizerException(String.format("cannot tokenize U+%04X: the vocabulary has neither its bytes nor an unknown token",
                            character.codePointAt(0)));
                }
                out.add(vocab.unk);
                return;
            }
        }
        for (byte b : utf8) out.add(byteTokens[b & 0xFF]);
    }
}
