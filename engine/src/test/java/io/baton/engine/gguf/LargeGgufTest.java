package io.baton.engine.gguf;

import io.baton.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** Files over 2 GiB: the mapping and tensor slices use long offsets. The file is sparse, so the test writes ~100 bytes. */
class LargeGgufTest {
    @TempDir
    Path dir;

    @Test
    void tensorBeyondTwoGiB() throws IOException {
        Path p = dir.resolve("big.gguf");
        long tensorOffset = 3L << 30; // 3 GiB into the data section
        ByteBuffer h = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(GgufFile.MAGIC).putInt(3).putLong(1).putLong(1);
        putString(h, "general.architecture");
        h.putInt(GgufValueType.STRING.id);
        putString(h, "llama");
        putString(h, "big");
        h.putInt(1).putLong(8).putInt(GgmlType.F32.id).putLong(tensorOffset);
        int headerLen = h.position();
        long dataStart = (headerLen + 31) / 32 * 32;
        h.flip();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(h, 0);
            ByteBuffer t = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 8; i++) t.putFloat(i + 0.5f);
            t.flip();
            ch.write(t, dataStart + tensorOffset);
        }
        try (GgufFile g = GgufFile.open(p)) {
            assertThat(g.fileSize()).isGreaterThan(3L << 30);
            var info = g.tensorInfo("big");
            var seg = g.tensorData(info);
            assertThat(seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 28)).isEqualTo(7.5f);
        }
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(bytes.length).put(bytes);
    }
}
