package io.baton.engine.tokenizer;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.tokenizer.SpecialTokenSplitter.Fragment;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE as llama.cpp runs it ({@code tokenizer.ggml.model = gpt2}; llm_tokenizer_bpe_session in
 * llama-vocab.cpp): the pre-tokenizer splits the text into words; each word's UTF-8 bytes are written in GPT-2's
 * byte alphabet ({@link ByteLevel}) and start as one symbol per byte; the adjacent pair with the lowest merge rank
 * ({@code tokenizer.ggml.merges}, line number = rank) is merged, again and again, leftmost first on ties. A merge
 * result is looked up as a token; a symbol that is no token falls back to its one-byte ASCII tokens.
 */
final class BpeTokenizer extends VocabTokenizer {
    private final PreTokenizer preTokenizer;
    /** Merge rank by the merge line "left right" (the pair is found by building the same string). */
    private final Map<String, Integer> ranks;

    BpeTokenizer(Vocab vocab, PreTokenizer preTokenizer, GgufFile gguf) {
        super(vocab);
        this.preTokenizer = preTokenizer;
        if (!gguf.has("tokenizer.ggml.merges")) throw new TokenizerException("cannot find tokenizer merges (tokenizer.ggml.merges) in " + gguf.path());
        String[] merges = gguf.getStringArray("tokenizer.ggml.merges");
        ranks = HashMap.newHashMap(merges.length);
        for (int i = 0; i < merges.length; i++) {
            // As llama.cpp: split at the first space after the first character; a line without one is the pair ("", "").
            int sp = merges[i].indexOf(' ', 1);
            String key = sp < 0 ? " " : merges[i];
            ranks.putIfAbsent(key, i); // the first rank of a repeated pair wins (std::unordered_map::emplace)
        }
    }

    @Override
    void encodeFragments(String text, List<Fragment> fragments, IntList out) {
        for (Fragment f : fragments) {
            if (f.isText()) tokenize(text.substring(f.start(), f.end()), out);
            else out.add(f.token());
        }
    }

    private void tokenize(String fragment, IntList out) {
        int[] cps = Unicode.codePoints(fragment);
        int[] words = preTokenizer.split(cps);
        int from = 0;
        for (int w : words) {
            byte[] utf8 = Unicode.utf8(new String(cps, from, w));
            from += w;
            word(ByteLevel.encode(utf8, 0, utf8.length), out);
        }
    }

    /** A candidate merge of symbol {@code left} with the symbol after it. */
    private record Bigram(int left, int right, int rank, int length) {}

    /** Lowest rank first; on ties the leftmost (llm_bigram_bpe::comparator). */
    private static int compare(Bigram a, Bigram b) {
        return a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left);
    }

    /** BPE over one word written in the byte alphabet: one char per byte. */
    private void word(String w, IntList out) {
        int n = w.length();
        int[] len = new int[n], prev = new int[n], next = new int[n];
        if (preTokenizer.ignoreMerges && vocab.id(w) >= 0) {
            out.add(vocab.id(w)); // Llama 3: a word that is a token is that token, whatever the merges say
            return;
        }
        for (int i = 0; i < n; i++) {
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n), BpeTokenizer::compare);
        for (int i = 1; i < n; i++) addBigram(w, i - 1, i, len, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            // Stale when either side has been merged since the pair was queued (llama.cpp compares the texts; the
            // symbols only grow, so comparing lengths is the same test).
            if (len[b.left] == 0 || len[b.right] == 0 || len[b.left] + len[b.right] != b.length) continue;
            len[b.left] += len[b.right];
            len[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) prev[next[b.right]] = b.left;
            addBigram(w, prev[b.left], b.left, len, queue);
            addBigram(w, b.left, next[b.left], len, queue);
        }
        for (int i = 0; i != -1 && n > 0; i = next[i]) {
            String symbol = w.substring(i, i + len[i]);
            int id = vocab.id(symbol);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // No such token: each byte of the symbol's UTF-8 that is a token by itself (only ASCII can be), as llama.cpp.
            for (int k = 0; k < symbol.length(); k++) {
                char c = symbol.charAt(k);
                int single = c < 0x80 ? vocab.id(String.valueOf(c)) : -1;
                if (single >= 0) out.add(single);
            }
        }
    }

    private void addBigram(String w, int left, int right, int[] len, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        String key = w.substring(left, left + len[left]) + ' ' + w.substring(right, right + len[right]);
        Integer rank = ranks.get(key);
        if (rank != null) queue.add(new Bigram(left, right, rank, len[left] + len[right]));
    }
}
