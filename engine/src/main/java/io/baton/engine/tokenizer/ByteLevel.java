package io.baton.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-level alphabet (bytes_to_unicode in OpenAI's encoder.py; llama.cpp's unicode_byte_to_utf8_map): every
 * byte gets a printable character, so byte-level BPE vocabularies are written in text. The printable bytes
 * {@code !..~}, {@code ¡..¬} and {@code ®..ÿ} stand for themselves; the other 68 bytes get U+0100, U+0101, ... in
 * byte order (so a space is 'Ġ' U+0120 and a newline 'Ċ' U+010A).
 */
final class ByteLevel {
    private ByteLevel() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character; -1 where the character stands for no byte. All characters are below U+0144. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** The UTF-8 bytes of {@code text}, each written as its byte-level character. */
    static String encode(byte[] utf8, int from, int to) {
        char[] out = new char[to - from];
        for (int i = from; i < to; i++) out[i - from] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        return new String(out);
    }

    /**
     * The bytes a byte-level token text stands for, as llama.cpp's llama_decode_text: a character outside the
     * alphabet is written as {@code [UNK_BYTE_0x<its UTF-8 in hex><the whole token text>]}, exactly as there.
     */
    static byte[] decode(String tokenText) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(tokenText.length());
        for (int i = 0; i < tokenText.length(); ) {
            int cp = tokenText.codePointAt(i);
            i += Character.charCount(cp);
            int b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder unk = new StringBuilder("[UNK_BYTE_0x");
                for (byte x : Unicode.utf8(new String(Character.toChars(cp)))) unk.append(String.format("%02x", x & 0xFF));
                unk.append(tokenText).append(']');
                out.writeBytes(unk.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }
}
