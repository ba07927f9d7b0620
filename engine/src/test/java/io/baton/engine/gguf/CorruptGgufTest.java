package io.baton.engine.gguf;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.model.UnsupportedModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Broken files give a clean {@link GgufException} (or a clear unsupported-model error), never an OOM or a crash. */
class CorruptGgufTest {
    @TempDir
    Path dir;

    private byte[] stories() throws IOException {
        return Files.readAllBytes(Fixtures.model("stories260K.gguf"));
    }

    private Path write(byte[] b) throws IOException {
        Path p = Files.createTempFile(dir, "bad", ".gguf");
        Files.write(p, b);
        return p;
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> GgufFile.open(dir.resolve("nope.gguf"))).isInstanceOf(GgufException.class).hasMessageContaining("not found");
    }

    @Test
    void emptyAndTinyFiles() throws IOException {
        assertThatThrownBy(() -> GgufFile.open(write(new byte[0]))).isInstanceOf(GgufException.class).hasMessageContaining("too short");
        assertThatThrownBy(() -> GgufFile.open(write(new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0}))).isInstanceOf(GgufException.class);
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] b = stories();
        b[0] = 'X';
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("not a GGUF file");
    }

    @Test
    void unsupportedVersion() throws IOException {
        byte[] b = stories();
        b[4] = 9;
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("version 9");
    }

    @Test
    void truncatedAnywhere() throws IOException {
        byte[] b = stories();
        // cut in the header, in the metadata, in the tensor infos, and in the tensor data
        for (int len : new int[] {30, 100, 1000, 20_000, b.length / 2, b.length - 1}) {
            byte[] cut = java.util.Arrays.copyOf(b, len);
            assertThatThrownBy(() -> GgufFile.open(write(cut))).as("truncated to %d", len).isInstanceOf(GgufException.class);
        }
    }

    @Test
    void absurdCounts() throws IOException {
        byte[] b = stories();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        byte[] tensors = b.clone();
        ByteBuffer.wrap(tensors).order(ByteOrder.LITTLE_ENDIAN).putLong(8, Long.MAX_VALUE);
        assertThatThrownBy(() -> GgufFile.open(write(tensors))).isInstanceOf(GgufException.class).hasMessageContaining("tensor count");
        byte[] kvs = b.clone();
        ByteBuffer.wrap(kvs).order(ByteOrder.LITTLE_ENDIAN).putLong(16, -1L);
        assertThatThrownBy(() -> GgufFile.open(write(kvs))).isInstanceOf(GgufException.class).hasMessageContaining("metadata count");
        // first key's string length: absurd
        byte[] key = b.clone();
        ByteBuffer.wrap(key).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
        assertThatThrownBy(() -> GgufFile.open(write(key))).isInstanceOf(GgufException.class).hasMessageContaining("truncated");
        assertThat(bb.getInt(0)).isEqualTo(GgufFile.MAGIC);
    }

    @Test
    void absurdTensorOffset() throws IOException {
        byte[] b = stories();
        long infoStart;
        String last;
        try (GgufFile g = GgufFile.open(Fixtures.model("stories260K.gguf"))) {
            last = g.tensors().keySet().stream().reduce((a, c) -> c).orElseThrow();
            infoStart = indexOf(b, last.getBytes());
        }
        // the last tensor info: name, n_dims (u32), dims (u64 each), type (u32), offset (u64)
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int p = (int) infoStart + last.length();
        int nDims = bb.getInt(p);
        int offsetAt = p + 4 + 8 * nDims + 4;
        bb.putLong(offsetAt, 1L << 50);
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("outside the file");
        bb.putLong(offsetAt, 3); // misaligned
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("alignment");
        bb.putInt(offsetAt - 4, 1234); // unknown tensor type
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("unknown tensor type 1234");
        bb.putInt(offsetAt - 4, 16); // IQ2_XXS: known but unsupported; its block size does not divide the row either
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class);
        bb.putInt(p, 77); // n_dims
        assertThatThrownBy(() -> GgufFile.open(write(b))).isInstanceOf(GgufException.class).hasMessageContaining("dimensions");
    }

    @Test
    void unknownArchitectureListsSupported() throws IOException {
        byte[] b = stories();
        int at = indexOf(b, "llama".getBytes(), indexOf(b, "general.architecture".getBytes()));
        System.arraycopy("gemma".getBytes(), 0, b, at, 5);
        Path p = write(b);
        assertThatThrownBy(() -> Model.load(p, 1)).isInstanceOf(UnsupportedModelException.class)
                .hasMessageContaining("unsupported model architecture 'gemma'").hasMessageContaining("llama, qwen2, qwen3");
    }

    @Test
    void randomByteFlipsNeverCrash() throws IOException {
        byte[] orig = stories();
        Random rnd = new Random(42);
        int headerEnd;
        try (GgufFile g = GgufFile.open(Fixtures.model("stories260K.gguf"))) {
            headerEnd = (int) g.dataOffset();
        }
        for (int i = 0; i < 300; i++) {
            byte[] b = orig.clone();
            for (int k = 0; k < 1 + rnd.nextInt(4); k++) b[rnd.nextInt(headerEnd)] = (byte) rnd.nextInt(256);
            Path p = write(b);
            try (GgufFile g = GgufFile.open(p)) {
                assertThat(g.tensors()).isNotNull();
            } catch (GgufException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
            Files.delete(p);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        return indexOf(hay, needle, 0);
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
