package io.baton.engine.tokenizer;

import io.baton.engine.tokenizer.SpecialTokenSplitter.Fragment;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** What SentencePiece and byte-level BPE share: special tokens, BOS/EOS, pieces and decoding. */
abstract sealed class VocabTokenizer implements Tokenizer permits SpmTokenizer, BpeTokenizer {
    final Vocab vocab;

    VocabTokenizer(Vocab vocab) {
        this.vocab = vocab;
    }

    @Override
    public final int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        String s = Unicode.wellFormed(text);
        List<Fragment> fragments = SpecialTokenSplitter.split(vocab, s, parseSpecial);
        IntList out = new IntList(s.length() / 3 + 8);
        if (addSpecial && vocab.addBos) out.add(vocab.bos);
        encodeFragments(s, fragments, out);
        if (addSpecial && vocab.addEos) out.add(vocab.eos);
        return out.toArray();
    }

    /** Appends the tokens of the fragments (special tokens as they are, text tokenized). */
    abstract void encodeFragments(String text, List<Fragment> fragments, IntList out);

    @Override
    public final byte[] tokenBytes(int id) {
        checkId(id);
        return vocab.piece(id).clone();
    }

    @Override
    public final String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            checkId(id);
            out.writeBytes(vocab.piece(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public final int vocabSize() {
        return vocab.size();
    }

    @Override
    public final int bos() {
        return vocab.bos;
    }

    @Override
    public final int eos() {
        return vocab.eos;
    }

    @Override
    public final boolean addBos() {
        return vocab.addBos;
    }

    @Override
    public final boolean addEos() {
        return vocab.addEos;
    }

    @Override
    public final boolean isEndOfGeneration(int id) {
        return vocab.isEog(id);
    }

    @Override
    public final String tokenText(int id) {
        checkId(id);
        return vocab.texts[id];
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary of " + vocab.size() + " tokens");
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + vocab + ")";
    }
}
