package io.baton.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a metadata-only GGUF v3 file (no tensors), for tokenizer metadata the fixtures do not have. */
final class TinyGguf {
    private final ByteArrayOutputStream kv = new ByteArrayOutputStream();
    private int count;

    TinyGguf string(String key, String value) {
        key(key, 8);
        str(value);
        return this;
    }

    TinyGguf uint32(String key, int value) {
        key(key, 4);
        le(4, value);
        return this;
    }

    TinyGguf bool(String key, boolean value) {
        key(key, 7);
        kv.write(value ? 1 : 0);
        return this;
    }

    TinyGguf strings(String key, String... values) {
        key(key, 9);
        le(4, 8);
        le(8, values.length);
        for (String v : values) str(v);
        return this;
    }

    TinyGguf floats(String key, float... values) {
        key(key, 9);
        le(4, 6);
        le(8, values.length);
        for (float v : values) le(4, Float.floatToRawIntBits(v));
        return this;
    }

    TinyGguf ints(String key, int... values) {
        key(key, 9);
        le(4, 5);
        le(8, values.length);
        for (int v : values) le(4, v);
        return this;
    }

    Path write(Path file) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        head.putInt(0x46554747).putInt(3).putLong(0).putLong(count);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(head.array());
        all.write(kv.toByteArray());
        while (all.size() % 32 != 0) all.write(0);
        Files.write(file, all.toByteArray());
        return file;
    }

    private void key(String key, int type) {
        str(key);
        le(4, type);
        count++;
    }

    private void str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        le(8, b.length);
        kv.writeBytes(b);
    }

    private void le(int bytes, long v) {
        for (int i = 0; i < bytes; i++) kv.write((int) (v >>> (8 * i)) & 0xFF);
    }
}
