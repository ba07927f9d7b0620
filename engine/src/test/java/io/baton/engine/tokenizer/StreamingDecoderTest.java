package io.baton.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class StreamingDecoderTest {

    @Test
    void holdsBackACharacterSplitOverByteTokens() {
        Tokenizer t = TokenizerTest.spm();
        int[] ids = t.encode("😀!", false, false); // ▁ <0xF0> <0x9F> <0x98> <0x80> !
        assertThat(ids).hasSize(6);
        StreamingDecoder d = t.streamingDecoder();
        List<String> chunks = new ArrayList<>();
        for (int id : ids) chunks.add(d.feed(id));
        chunks.add(d.flush());
        assertThat(chunks).containsExactly(" ", "", "", "", "😀", "!", "");
    }

    @Test
    void holdsBackACharacterSplitOverByteLevelPieces() {
        Tokenizer t = TokenizerTest.qwen();
        int[] ids = t.encode(" this is 🦙.cpp", false, false); // 🦙 is 3 tokens: 11162 99 247
        assertThat(ids).containsSubsequence(11162, 99, 247);
        StreamingDecoder d = t.streamingDecoder();
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String chunk = d.feed(id);
            assertThat(chunk).doesNotContain("\uFFFD");
            all.append(chunk);
        }
        all.append(d.flush());
        assertThat(all.toString()).isEqualTo(" this is 🦙.cpp");
    }

    @Test
    void validTextNeverYieldsAReplacementCharacter() {
        String text = "Grüße, 世界! 👍🏽🇫🇷 ∑ x² — ok";
        for (Tokenizer t : new Tokenizer[] {TokenizerTest.spm(), TokenizerTest.qwen(), TokenizerTest.llama3()}) {
            StreamingDecoder d = t.streamingDecoder();
            StringBuilder all = new StringBuilder();
            for (int id : t.encode(text, false, false)) {
                String chunk = d.feed(id);
                assertThat(chunk).doesNotContain("\uFFFD");
                all.append(chunk);
            }
            all.append(d.flush());
            assertThat(all.toString().strip()).isEqualTo(text);
        }
    }

    @Test
    void concatenationEqualsDecodeForRandomTokens() {
        // Random ids from the whole vocabulary (byte tokens, partial byte-level pieces, specials): the streamed text
        // must be exactly decode() of all of them, invalid bytes included.
        Random rnd = new Random(42);
        for (Tokenizer t : new Tokenizer[] {TokenizerTest.spm(), TokenizerTest.qwen()}) {
            for (int round = 0; round < 300; round++) {
                int[] ids = new int[1 + rnd.nextInt(40)];
                for (int i = 0; i < ids.length; i++) {
                    // bias towards short pieces so characters get split across tokens often
                    ids[i] = rnd.nextBoolean() ? rnd.nextInt(t.vocabSize()) : (t == TokenizerTest.spm() ? 3 + rnd.nextInt(256) : rnd.nextInt(256));
                }
                StreamingDecoder d = t.streamingDecoder();
                StringBuilder all = new StringBuilder();
                for (int id : ids) all.append(d.feed(id));
                all.append(d.flush());
                assertThat(all.toString()).as("round %d", round).isEqualTo(t.decode(ids));
            }
        }
    }

    @Test
    void completePrefix() {
        assertThat(StreamingDecoder.completePrefix(bytes(0x41, 0xE4, 0xB8), 3)).isEqualTo(1);       // "A" + 2/3 of 中
        assertThat(StreamingDecoder.completePrefix(bytes(0xE4, 0xB8, 0xAD), 3)).isEqualTo(3);       // 中, complete
        assertThat(StreamingDecoder.completePrefix(bytes(0xF0, 0x9F, 0x98), 3)).isZero();           // 3/4 of 😀
        assertThat(StreamingDecoder.completePrefix(bytes(0x41, 0xFF), 2)).isEqualTo(2);             // invalid: emit
        assertThat(StreamingDecoder.completePrefix(bytes(0xE0, 0x80), 2)).isEqualTo(2);             // can never be valid
        assertThat(StreamingDecoder.completePrefix(bytes(0x80, 0x80, 0x80, 0x80), 4)).isEqualTo(4); // stray continuations
        assertThat(StreamingDecoder.completePrefix(bytes(), 0)).isZero();
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }
}
