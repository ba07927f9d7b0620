package io.baton.engine.tokenizer;

import io.baton.engine.gguf.GgufFile;

/**
 * Text to token ids and back, exactly as llama.cpp does it for the vocabulary stored in a GGUF file
 * (src/llama-vocab.cpp). Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /**
     * The tokenizer of a GGUF file, chosen by {@code tokenizer.ggml.model}: {@code llama} (SentencePiece BPE with
     * scores) or {@code gpt2} (byte-level BPE with merges, split first by the pre-tokenizer {@code tokenizer.ggml.pre}).
     * The file may be closed afterwards: everything needed is copied.
     *
     * @throws TokenizerException (an IllegalArgumentException) for an unsupported model or pre-tokenizer, naming the
     *                            supported ones, or for inconsistent tokenizer metadata
     */
    static Tokenizer fromGguf(GgufFile gguf) {
        if (!gguf.has("tokenizer.ggml.model")) {
            throw new TokenizerException("no tokenizer in " + gguf.path() + " (tokenizer.ggml.model is missing)");
        }
        String model = gguf.getString("tokenizer.ggml.model");
        return switch (model) {
            case "llama" -> new SpmTokenizer(Vocab.load(gguf, model));
            case "gpt2" -> {
                PreTokenizer pre = PreTokenizer.forName(gguf.getString("tokenizer.ggml.pre", ""));
                yield new BpeTokenizer(Vocab.load(gguf, model), pre, gguf);
            }
            default -> throw new TokenizerException("unsupported tokenizer model tokenizer.ggml.model = '" + model
                    + "' in " + gguf.path() + " (supported: " + String.join(", ", Vocab.SUPPORTED_MODELS) + ")");
        };
    }

    /**
     * Token ids of {@code text}, as llama_tokenize.
     *
     * @param addSpecial   add BOS (and EOS) where the vocabulary asks for them ({@link #addBos()}, {@link #addEos()})
     * @param parseSpecial turn the text of control tokens (e.g. {@code <|im_start|>}) into those tokens; without it
     *                     only user-defined tokens are matched and control-token text is tokenized as plain text
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** The bytes of one token's piece, as llama_token_to_piece(special = true); a fresh array. */
    byte[] tokenBytes(int id);

    /** The pieces of all tokens, concatenated and decoded as UTF-8 (invalid bytes become U+FFFD). */
    String decode(int[] ids);

    /** A decoder for tokens arriving one by one; its text never ends inside a UTF-8 character. */
    default StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }

    int vocabSize();

    /** The beginning-of-sequence token, or -1 when the vocabulary has none. */
    int bos();

    /** The end-of-sequence token, or -1 when the vocabulary has none. */
    int eos();

    boolean addBos();

    boolean addEos();

    /** Whether generation stops at this token: eos, eot, eom and the tokens llama.cpp's vocabulary loader marks EOG. */
    boolean isEndOfGeneration(int id);

    /** The token's text as stored in the vocabulary (byte-level or '▁'-escaped, not decoded). */
    String tokenText(int id);
}
