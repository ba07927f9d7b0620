package io.baton.engine.tokenizer;

import io.baton.engine.gguf.GgufFile;
import io.baton.engine.gguf.GgufValue;
import io.baton.engine.gguf.GgufValueType;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The vocabulary of a GGUF file ({@code tokenizer.ggml.*}) with everything llama.cpp derives from it when it loads a
 * model (llama_vocab::impl::load in src/llama-vocab.cpp): token attributes, special token ids with their per-model
 * defaults, the end-of-generation set, the special tokens that split the input, and each token's piece.
 */
final class Vocab {
    private static final Logger LOG = Logger.getLogger(Vocab.class.getName());

    /** Token attributes, the bits of llama.h's llama_token_attr. */
    static final int UNKNOWN = 1, UNUSED = 1 << 1, NORMAL = 1 << 2, CONTROL = 1 << 3, USER_DEFINED = 1 << 4, BYTE = 1 << 5,
            LSTRIP = 1 << 7, RSTRIP = 1 << 8;

    /** The tokenizer models this package implements, by their {@code tokenizer.ggml.model} name. */
    static final List<String> SUPPORTED_MODELS = List.of("llama", "gpt2");

    final String model;
    /** {@code tokenizer.ggml.pre}, "" when absent. */
    final String pre;
    final boolean byteLevel;
    final String[] texts;
    final float[] scores;
    final int[] attrs;
    final Map<String, Integer> ids;
    final int bos, eos, eot, eom, unk;
    final boolean addBos, addEos, addSpacePrefix;
    private final BitSet eog = new BitSet();
    /** Control, user-defined and unknown tokens, longest text first: what tokenizer_st_partition looks for. */
    final int[] specialTokens;
    private final byte[][] pieces;

    private Vocab(GgufFile gguf, String model) {
        this.model = model;
        this.byteLevel = model.equals("gpt2");
        this.pre = gguf.getString("tokenizer.ggml.pre", "");

        if (!gguf.has("tokenizer.ggml.tokens")) throw new TokenizerException("no tokenizer vocabulary (tokenizer.ggml.tokens) in " + gguf.path());
        texts = gguf.getStringArray("tokenizer.ggml.tokens").clone();
        int n = texts.length;
        if (n == 0) throw new TokenizerException("empty tokenizer vocabulary in " + gguf.path());
        scores = new float[n];
        if (gguf.has("tokenizer.ggml.scores")) {
            GgufValue v = gguf.value("tokenizer.ggml.scores");
            if (v.value() instanceof float[] f && f.length >= n) {
                System.arraycopy(f, 0, scores, 0, n);
            } else if (v.value() instanceof int[] a && a.length >= n) {
                for (int i = 0; i < n; i++) scores[i] = a[i];
            } else {
                throw new TokenizerException("tokenizer.ggml.scores is " + v + ", expected " + n + " FLOAT32 or INT32 values");
            }
        }
        attrs = new int[n];
        int[] types = null;
        if (gguf.has("tokenizer.ggml.token_type")) {
            types = gguf.getIntArray("tokenizer.ggml.token_type");
            if (types.length < n) throw new TokenizerException("tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");
        }
        ids = HashMap.newHashMap(n);
        for (int i = 0; i < n; i++) {
            if (texts[i].isEmpty()) texts[i] = "[EMPTY_" + i + "]"; // as llama.cpp, which warns about it
            Integer dup = ids.putIfAbsent(texts[i], i);
            if (dup != null) throw new TokenizerException("duplicate token in vocabulary: '" + texts[i] + "' has ids " + dup + " and " + i);
            attrs[i] = types == null ? NORMAL : switch (types[i]) {
                case 1 -> NORMAL;
                case 2 -> UNKNOWN;
                case 3 -> CONTROL;
                case 4 -> USER_DEFINED;
                case 5 -> UNUSED;
                case 6 -> BYTE;
                default -> 0; // undefined
            };
        }

        // Defaults per model type, then the metadata (llama-vocab.cpp: "default special tokens", "special tokens").
        boolean spm = model.equals("llama");
        int dBos = spm ? 1 : 11, dEos = spm ? 2 : 11, dUnk = spm ? 0 : -1;
        boolean dAddBos = spm, dAddSpacePrefix = spm;
        if (byteLevel && PreTokenizer.isLlama3(pre)) dAddBos = true;
        bos = specialId(gguf, "tokenizer.ggml.bos_token_id", dBos, n);
        eos = specialId(gguf, "tokenizer.ggml.eos_token_id", dEos, n);
        unk = specialId(gguf, "tokenizer.ggml.unknown_token_id", dUnk, n);
        addBos = gguf.getBool("tokenizer.ggml.add_bos_token", dAddBos);
        addEos = gguf.getBool("tokenizer.ggml.add_eos_token", false);
        addSpacePrefix = gguf.getBool("tokenizer.ggml.add_space_prefix", dAddSpacePrefix);
        if (addBos && bos < 0) throw new TokenizerException("tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set");
        if (addEos && eos < 0) throw new TokenizerException("tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set");

        // Special tokens the conversion scripts do not always record are found by their text, and forced to be
        // control tokens (llama-vocab.cpp: "auto-detect special tokens by text"). Scanned in id order.
        eot = detect(gguf, "tokenizer.ggml.eot_token_id", n, Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                "<|endoftext|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>"));
        eom = detect(gguf, "tokenizer.ggml.eom_token_id", n, Set.of("<|eom_id|>"));
        int fimPad = detect(gguf, "tokenizer.ggml.fim_pad_token_id", n, Set.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"));
        int fimRep = detect(gguf, "tokenizer.ggml.fim_rep_token_id", n, Set.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"));
        int fimSep = detect(gguf, "tokenizer.ggml.fim_sep_token_id", n, Set.of("<|file_sep|>"));

        // End of generation: these texts, plus eos, eot, eom and the FIM pad/repo/file-separator tokens.
        Set<String> eogTexts = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
                "<EOT>", "_<EOT>", "<|end_of_text|>");
        for (int i = 0; i < n; i++) {
            if (eogTexts.contains(texts[i])) {
                eog.set(i);
                attrs[i] |= CONTROL;
            }
        }
        for (int id : new int[] {eos, eot, eom, fimPad, fimRep, fimSep}) if (id >= 0) eog.set(id);

        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < n; i++) if ((attrs[i] & (CONTROL | USER_DEFINED | UNKNOWN)) != 0) special.add(i);
        // llama.cpp sorts by length with std::sort, which leaves equal lengths in no defined order; id order here.
        special.sort(Comparator.comparingInt((Integer id) -> -texts[id].length()).thenComparingInt(id -> id));
        specialTokens = special.stream().mapToInt(Integer::intValue).toArray();

        pieces = new byte[n][];
        for (int i = 0; i < n; i++) pieces[i] = computePiece(i);

        // Per-model attribute fix-ups that llama.cpp keys on general.name (they only affect splitting on special tokens).
        String name = gguf.getString("general.name", "").toLowerCase(Locale.ROOT);
        if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialTokens) attrs[id] |= RSTRIP;
            setAttr("</s>", RSTRIP, true);
            for (String t : new String[] {"<unk>", "<s>", "<|endoftext|>"}) setAttr(t, RSTRIP, false);
        }
    }

    /** Reads the vocabulary; the caller has checked that {@code tokenizer.ggml.model} is supported. */
    static Vocab load(GgufFile gguf, String model) {
        return new Vocab(gguf, model);
    }

    int size() {
        return texts.length;
    }

    boolean isEog(int id) {
        return id >= 0 && eog.get(id);
    }

    /** The token's piece (see {@link #computePiece}); callers must not modify it. */
    byte[] piece(int id) {
        return pieces[id];
    }

    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    /**
     * The bytes of a token as llama_token_to_piece(special = true): special tokens as their text, SentencePiece
     * pieces with '▁' as a space, byte tokens {@code <0xAB>} as that byte, byte-level BPE pieces mapped back to bytes,
     * and nothing for unused tokens.
     */
    private byte[] computePiece(int id) {
        int a = attrs[id];
        String text = texts[id];
        if ((a & (UNKNOWN | CONTROL | USER_DEFINED)) != 0) return Unicode.utf8(text);
        if ((a & NORMAL) != 0) return byteLevel ? ByteLevel.decode(text) : Unicode.utf8(text.replace('▁', ' '));
        if ((a & BYTE) != 0) {
            if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
                try {
                    return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
                } catch (NumberFormatException e) {
                    // fall through: not a byte token after all
                }
            }
            throw new TokenizerException("byte token " + id + " has text '" + text + "', expected <0xXX>");
        }
        return new byte[0];
    }

    private void setAttr(String text, int bit, boolean on) {
        int id = id(text);
        if (id >= 0) attrs[id] = on ? attrs[id] | bit : attrs[id] & ~bit;
    }

    /** A special token id from the metadata; a default or a value outside the vocabulary is ignored, as in llama.cpp. */
    private static int specialId(GgufFile gguf, String key, int defaultId, int n) {
        int dflt = defaultId < n ? defaultId : -1;
        if (!gguf.has(key)) return dflt;
        GgufValue v = gguf.value(key);
        if (v.type() == GgufValueType.ARRAY || v.type() == GgufValueType.STRING || v.type() == GgufValueType.FLOAT32
                || v.type() == GgufValueType.FLOAT64) {
            throw new TokenizerException("metadata " + key + " is " + v + ", expected a token id");
        }
        long id = v.asLong();
        if (id < 0 || id >= n) {
            LOG.fine(() -> "bad special token " + key + " = " + Long.toUnsignedString(id) + ", using default " + (dflt < 0 ? "none" : dflt));
            return dflt;
        }
        return (int) id;
    }

    /** The id from {@code key}, or else the first token (by id) whose text is one of {@code texts}, made a control token. */
    private int detect(GgufFile gguf, String key, int n, Set<String> candidates) {
        int id = specialId(gguf, key, -1, n);
        if (id >= 0) return id;
        for (int i = 0; i < n; i++) {
            if (candidates.contains(texts[i])) {
                attrs[i] |= CONTROL;
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return model + (pre.isEmpty() ? "" : "/" + pre) + " vocabulary of " + size() + " tokens";
    }
}
