package io.baton.engine.tokenizer;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Behaviour the llama.cpp vectors do not pin down on their own: special tokens, pieces, EOG, errors. */
class TokenizerTest {
    private static final Map<String, Tokenizer> CACHE = new HashMap<>();

    @TempDir
    Path dir;

    static synchronized Tokenizer vocab(String file) {
        return CACHE.computeIfAbsent(file, f -> {
            Path p = f.startsWith("ggml-vocab") ? Fixtures.shared().resolve("vocab").resolve(f) : Fixtures.model(f);
            try (GgufFile g = GgufFile.open(p)) {
                return Tokenizer.fromGguf(g);
            }
        });
    }

    static Tokenizer qwen() {
        return vocab("ggml-vocab-qwen2.5.gguf");
    }

    static Tokenizer llama3() {
        return vocab("ggml-vocab-llama3.2-bpe.gguf");
    }

    static Tokenizer spm() {
        return vocab("ggml-vocab-llama-spm.gguf");
    }

    @Test
    void controlTokensOnlyWithParseSpecial() {
        Tokenizer t = qwen();
        String chat = "<|im_start|>user\nHi<|im_end|>";
        int[] parsed = t.encode(chat, false, true);
        assertThat(parsed[0]).isEqualTo(151644);
        assertThat(parsed[parsed.length - 1]).isEqualTo(151645);
        assertThat(t.decode(parsed)).isEqualTo(chat);
        int[] plain = t.encode(chat, false, false);
        assertThat(plain).doesNotContain(151644, 151645).hasSizeGreaterThan(parsed.length);
        assertThat(t.decode(plain)).isEqualTo(chat);
    }

    @Test
    void userDefinedTokensEvenWithoutParseSpecial() {
        // <tool_call> is USER_DEFINED (type 4) in Qwen2.5: llama.cpp matches those always, like HF added tokens.
        assertThat(qwen().encode("<tool_call>{}</tool_call>", false, false)).startsWith(151657).endsWith(151658);
    }

    @Test
    void longestSpecialTokenWins() {
        // "<|im_end|>" must not be cut as something shorter; several specials in a row with text between.
        Tokenizer t = qwen();
        int[] ids = t.encode("<|im_end|><|im_end|>x<|endoftext|>", false, true);
        assertThat(ids[0]).isEqualTo(151645);
        assertThat(ids[1]).isEqualTo(151645);
        assertThat(ids[ids.length - 1]).isEqualTo(151643);
    }

    @Test
    void bosAndEosFollowTheMetadata() {
        assertThat(llama3().addBos()).isTrue(); // no add_bos_token key: llama.cpp's default for llama-bpe
        assertThat(llama3().encode("Hi", true, false)).startsWith(128000);
        assertThat(qwen().addBos()).isFalse();
        assertThat(qwen().encode("Hi", true, false)).doesNotContain(151643);
        assertThat(spm().encode("", true, false)).containsExactly(1);
        assertThat(spm().encode("", false, false)).isEmpty();
        assertThat(qwen().encode("", true, true)).isEmpty();
    }

    @Test
    void spmPrefixesASpaceAtTheStartAndAfterSpecialTokens() {
        Tokenizer t = spm();
        int[] hello = t.encode("Hello", false, false);
        assertThat(t.tokenText(hello[0])).startsWith("▁");
        int[] ids = t.encode("<s>Hello", false, true);
        assertThat(ids[0]).isEqualTo(1);
        assertThat(Arrays.copyOfRange(ids, 1, ids.length)).containsExactly(hello);
    }

    @Test
    void pieces() {
        Tokenizer s = spm();
        assertThat(s.tokenBytes(13)).containsExactly('\n');          // <0x0A>
        assertThat(s.tokenText(13)).isEqualTo("<0x0A>");
        assertThat(s.tokenBytes(s.encode("Hello", false, false)[0])).isEqualTo(" Hello".getBytes(StandardCharsets.UTF_8));
        assertThat(s.tokenBytes(1)).isEqualTo("<s>".getBytes(StandardCharsets.UTF_8));
        Tokenizer q = qwen();
        assertThat(q.tokenBytes(220)).containsExactly(' ');           // 'Ġ'
        assertThat(q.tokenText(220)).isEqualTo("Ġ");
        assertThat(q.tokenBytes(151644)).isEqualTo("<|im_start|>".getBytes(StandardCharsets.UTF_8));
        assertThat(q.tokenBytes(151935)).isEmpty();                    // [PAD151935], unused
        assertThatThrownBy(() -> q.tokenBytes(151936)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> q.tokenBytes(-1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void endOfGeneration() {
        Tokenizer q = qwen();
        for (int id : new int[] {151643, 151645, 151662, 151663, 151664}) assertThat(q.isEndOfGeneration(id)).as("qwen %d", id).isTrue();
        for (int id : new int[] {151644, 151657, 0, 220}) assertThat(q.isEndOfGeneration(id)).as("qwen %d", id).isFalse();
        Tokenizer l = llama3();
        for (int id : new int[] {128001, 128009}) assertThat(l.isEndOfGeneration(id)).as("llama3 %d", id).isTrue();
        for (int id : new int[] {128000, 128006, 128007, 128008}) assertThat(l.isEndOfGeneration(id)).as("llama3 %d", id).isFalse();
        assertThat(spm().isEndOfGeneration(2)).isTrue();
        assertThat(spm().isEndOfGeneration(1)).isFalse();
        assertThat(spm().isEndOfGeneration(-1)).isFalse();
    }

    @Test
    void roundTrips() {
        String text = "  Mixed: English, 中文, русский, emoji 👍🏽🇫🇷, tabs\tand\r\nCRLF, numbers 1234567, 'quotes' don't stop.  ";
        for (Tokenizer t : new Tokenizer[] {qwen(), llama3()}) {
            assertThat(t.decode(t.encode(text, false, false))).isEqualTo(text);
        }
        assertThat(spm().decode(spm().encode(text, false, false))).isEqualTo(" " + text); // the space prefix
    }

    @Test
    void charactersOutsideAVocabularyWithoutByteTokensBecomeUnknown() {
        Tokenizer t = vocab("TinyStories-656K-F32.gguf");
        int[] ids = t.encode("a 中 b\t", false, false);
        assertThat(ids).contains(0);
        assertThat(t.decode(ids)).contains("<unk>");
    }

    @Test
    void loneSurrogatesAreReplacementCharacters() {
        String broken = "a\uD800b";
        assertThat(qwen().decode(qwen().encode(broken, false, false))).isEqualTo("a\uFFFDb");
        assertThat(spm().decode(spm().encode(broken, false, false))).isEqualTo(" a\uFFFDb");
    }

    @Test
    void spmMergesByScoreLeftmostFirst() throws IOException {
        // "▁ab": (▁,a) scores -2, (a,b) scores -1: "ab" merges first, then "▁" + "ab" = "▁ab" is a token.
        Tokenizer t = tinySpm(new String[] {"<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab", "c"},
                new float[] {0, 0, 0, -5, -5, -5, -2, -1, -3, -5}, new int[] {2, 3, 3, 1, 1, 1, 1, 1, 1, 1}, true);
        assertThat(t.encode("ab", false, false)).containsExactly(8);
        // "▁aa": (▁,a) -2 at 0 and (a,a) none: "▁a" "a"
        assertThat(t.encode("aa", false, false)).containsExactly(6, 4);
        // "cc": no pair is a token, and ties do not matter: each character alone
        assertThat(t.encode("cc", false, true)).containsExactly(3, 9, 9);
        // no byte tokens: an unknown character is <unk>
        assertThat(t.encode("xa", true, false)).containsExactly(1, 3, 0, 4);
    }

    @Test
    void outOfRangeSpecialIdsFallBackToLlamaCppDefaults() throws IOException {
        Path p = new TinyGguf().string("tokenizer.ggml.model", "llama")
                .strings("tokenizer.ggml.tokens", "<s>", "</s>", "▁", "a")
                .floats("tokenizer.ggml.scores", 0, 0, -1, -1)
                .ints("tokenizer.ggml.token_type", 3, 3, 1, 1)
                .uint32("tokenizer.ggml.unknown_token_id", 0xFFFFFFFF)
                .uint32("tokenizer.ggml.bos_token_id", 0)
                .uint32("tokenizer.ggml.eos_token_id", 1)
                .write(dir.resolve("nounk.gguf"));
        Tokenizer t;
        try (GgufFile g = GgufFile.open(p)) {
            t = Tokenizer.fromGguf(g);
        }
        // unknown_token_id = 2^32-1 is ignored and SentencePiece's default 0 stays, as in llama.cpp
        assertThat(t.encode("xa", false, false)).containsExactly(2, 0, 3);
        assertThat(t.bos()).isZero();
        assertThat(t.eos()).isEqualTo(1);
    }

    @Test
    void unsupportedTokenizerModelIsAClearError() throws IOException {
        Path p = new TinyGguf().string("tokenizer.ggml.model", "bert").strings("tokenizer.ggml.tokens", "[PAD]", "a")
                .write(dir.resolve("bert.gguf"));
        try (GgufFile g = GgufFile.open(p)) {
            assertThatThrownBy(() -> Tokenizer.fromGguf(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("unsupported tokenizer model").hasMessageContaining("'bert'")
                    .hasMessageContaining("supported: llama, gpt2");
        }
    }

    @Test
    void unsupportedPreTokenizerIsAClearError() throws IOException {
        Path p = new TinyGguf().string("tokenizer.ggml.model", "gpt2").string("tokenizer.ggml.pre", "klingon")
                .strings("tokenizer.ggml.tokens", "a", "b", "ab").strings("tokenizer.ggml.merges", "a b")
                .write(dir.resolve("klingon.gguf"));
        try (GgufFile g = GgufFile.open(p)) {
            assertThatThrownBy(() -> Tokenizer.fromGguf(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'klingon'").hasMessageContaining("llama-bpe").hasMessageContaining("qwen2");
        }
    }

    @Test
    void missingTokenizerIsAClearError() throws IOException {
        Path p = new TinyGguf().string("general.architecture", "llama").write(dir.resolve("none.gguf"));
        try (GgufFile g = GgufFile.open(p)) {
            assertThatThrownBy(() -> Tokenizer.fromGguf(g)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tokenizer.ggml.model is missing");
        }
    }

    @Test
    void gpt2PreTokenizerAndDefault() throws IOException {
        // GPT-2 splitting keeps " ab" and "'s" as words; llama.cpp's default first cuts out runs of punctuation.
        Map<String, int[]> expected = Map.of("gpt-2", new int[] {4, 7}, "default", new int[] {4, 5, 6});
        for (String pre : expected.keySet()) {
            Path p = new TinyGguf().string("tokenizer.ggml.model", "gpt2").string("tokenizer.ggml.pre", pre)
                    .strings("tokenizer.ggml.tokens", "a", "b", "Ġ", "Ġa", "Ġab", "'", "s", "'s")
                    .strings("tokenizer.ggml.merges", "Ġ a", "Ġa b", "' s")
                    .write(dir.resolve(pre + ".gguf"));
            try (GgufFile g = GgufFile.open(p)) {
                Tokenizer t = Tokenizer.fromGguf(g);
                int[] ids = t.encode(" ab's", false, false);
                assertThat(ids).as(pre).containsExactly(expected.get(pre));
                assertThat(t.decode(ids)).isEqualTo(" ab's");
            }
        }
    }

    private Tokenizer tinySpm(String[] tokens, float[] scores, int[] types, boolean addBos) throws IOException {
        Path p = new TinyGguf().string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", tokens)
                .floats("tokenizer.ggml.scores", scores).ints("tokenizer.ggml.token_type", types)
                .bool("tokenizer.ggml.add_bos_token", addBos).write(dir.resolve("spm.gguf"));
        try (GgufFile g = GgufFile.open(p)) {
            return Tokenizer.fromGguf(g);
        }
    }
}
