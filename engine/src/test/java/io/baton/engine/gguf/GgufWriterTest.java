package io.baton.engine.gguf;

import io.baton.engine.Fixtures;
import io.baton.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufWriterTest {
    @TempDir
    Path dir;

    private static GgufValue v(GgufValueType t, Object o) {
        return GgufValue.of(t, o);
    }

    private static GgufValue arr(GgufValueType et, Object a) {
        return GgufValue.array(et, a);
    }

    /** One value of every type, edge values included, and arrays of every element type, nested ones too. */
    static Map<String, GgufValue> everyType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8", v(GgufValueType.UINT8, (byte) 0xff));
        m.put("i8", v(GgufValueType.INT8, (byte) -128));
        m.put("u16", v(GgufValueType.UINT16, (short) 0xfffe));
        m.put("i16", v(GgufValueType.INT16, (short) -2));
        m.put("u32", v(GgufValueType.UINT32, 0xfffffffd));
        m.put("i32", v(GgufValueType.INT32, Integer.MIN_VALUE));
        m.put("u64", v(GgufValueType.UINT64, -1L));
        m.put("i64", v(GgufValueType.INT64, Long.MIN_VALUE));
        m.put("f32", v(GgufValueType.FLOAT32, -0.0f));
        m.put("f32.nan", v(GgufValueType.FLOAT32, Float.intBitsToFloat(0x7fc01234)));
        m.put("f64", v(GgufValueType.FLOAT64, Double.MIN_VALUE));
        m.put("bool.t", v(GgufValueType.BOOL, true));
        m.put("bool.f", v(GgufValueType.BOOL, false));
        m.put("str", GgufValue.string("héllo, 世界 \u0000 🚀"));
        m.put("str.empty", GgufValue.string(""));
        m.put("a.u8", arr(GgufValueType.UINT8, new byte[] {0, 1, (byte) 255}));
        m.put("a.i8", arr(GgufValueType.INT8, new byte[] {-1, 2}));
        m.put("a.u16", arr(GgufValueType.UINT16, new short[] {(short) 65535, 3}));
        m.put("a.i16", arr(GgufValueType.INT16, new short[] {-3}));
        m.put("a.u32", arr(GgufValueType.UINT32, new int[] {-1, 0, 7}));
        m.put("a.i32", arr(GgufValueType.INT32, new int[] {Integer.MAX_VALUE}));
        m.put("a.u64", arr(GgufValueType.UINT64, new long[] {-1L, 5}));
        m.put("a.i64", arr(GgufValueType.INT64, new long[] {Long.MAX_VALUE}));
        m.put("a.f32", arr(GgufValueType.FLOAT32, new float[] {1.5f, Float.NEGATIVE_INFINITY, Float.MIN_VALUE}));
        m.put("a.f64", arr(GgufValueType.FLOAT64, new double[] {Math.PI, -0.0}));
        m.put("a.bool", arr(GgufValueType.BOOL, new boolean[] {true, false, true}));
        m.put("a.str", arr(GgufValueType.STRING, new String[] {"a", "", "ünï"}));
        m.put("a.empty", arr(GgufValueType.INT32, new int[0]));
        m.put("a.nested", arr(GgufValueType.ARRAY, new GgufValue[] {
                arr(GgufValueType.INT32, new int[] {1, 2}),
                arr(GgufValueType.STRING, new String[] {"x"}),
                arr(GgufValueType.ARRAY, new GgufValue[] {arr(GgufValueType.FLOAT32, new float[] {2f})}),
                arr(GgufValueType.UINT8, new byte[0])}));
        return m;
    }

    private record T(String name, GgmlType type, long[] dims) {}

    private static final List<T> TENSORS = List.of(
            new T("f32", GgmlType.F32, new long[] {7}),
            new T("f16", GgmlType.F16, new long[] {5, 3}),
            new T("bf16", GgmlType.BF16, new long[] {3, 2, 2}),
            new T("q8_0", GgmlType.Q8_0, new long[] {64, 3, 1, 2}),
            new T("q4_0", GgmlType.Q4_0, new long[] {32, 5}),
            new T("q4_k", GgmlType.Q4_K, new long[] {256, 2}),
            new T("q5_k", GgmlType.Q5_K, new long[] {512}),
            new T("q6_k", GgmlType.Q6_K, new long[] {256, 3}),
            new T("iq4_nl", GgmlType.IQ4_NL, new long[] {32}));

    private static byte[] randomBytes(Random r, long n) {
        byte[] b = new byte[Math.toIntExact(n)];
        r.nextBytes(b);
        return b;
    }

    @Test
    void everyValueAndTensorTypeRoundTrips() throws IOException {
        Random r = new Random(5);
        GgufWriter w = new GgufWriter().putAll(everyType());
        Map<String, byte[]> data = new LinkedHashMap<>();
        for (int i = 0; i < TENSORS.size(); i++) {
            T t = TENSORS.get(i);
            long n = 1;
            for (long d : t.dims()) n *= d;
            byte[] b = randomBytes(r, t.type().bytesFor(n));
            data.put(t.name(), b);
            if (i % 2 == 0) {
                w.addTensor(t.name(), t.type(), t.dims(), MemorySegment.ofArray(b));
            } else {
                // Streamed in pieces of uneven size.
                w.addTensor(t.name(), t.type(), t.dims(), sink -> {
                    for (int off = 0; off < b.length; off += 7) sink.write(MemorySegment.ofArray(b).asSlice(off, Math.min(7, b.length - off)));
                });
            }
        }
        Path p = dir.resolve("all.gguf");
        long size = w.write(p);
        assertThat(Files.size(p)).isEqualTo(size);

        try (GgufFile g = GgufFile.open(p)) {
            assertThat(g.version()).isEqualTo(3);
            assertThat(g.alignment()).isEqualTo(32);
            assertThat(g.metadata()).containsExactlyEntriesOf(everyType());
            // Float.equals folds NaN payloads: check the bits of the NaN itself.
            assertThat(Float.floatToRawIntBits((Float) g.value("f32.nan").value())).isEqualTo(0x7fc01234);
            assertThat(Float.floatToRawIntBits((Float) g.value("f32").value())).isEqualTo(0x80000000);
            assertThat(g.tensors().keySet()).containsExactlyElementsOf(TENSORS.stream().map(T::name).toList());
            for (T t : TENSORS) {
                GgufTensorInfo info = g.tensorInfo(t.name());
                assertThat(info.type()).isEqualTo(t.type());
                assertThat(info.dims()).isEqualTo(t.dims());
                assertThat(info.offset() % 32).isZero();
                assertThat(g.tensorData(info).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(data.get(t.name()));
            }
            assertThat(g.dataOffset() % 32).isZero();
            assertThat(g.fileSize() % 32).as("the last tensor is padded too").isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 64, 4096})
    void generalAlignmentIsHonoured(int alignment) throws IOException {
        Random r = new Random(alignment);
        GgufWriter w = new GgufWriter().put("general.alignment", GgufValue.uint32(alignment));
        for (int i = 0; i < 3; i++) w.addTensor("t" + i, GgmlType.F16, new long[] {3 + i}, MemorySegment.ofArray(randomBytes(r, 2L * (3 + i))));
        Path p = dir.resolve("a.gguf");
        w.write(p);
        try (GgufFile g = GgufFile.open(p)) {
            assertThat(g.alignment()).isEqualTo(alignment);
            assertThat(g.dataOffset() % alignment).isZero();
            for (GgufTensorInfo t : g.tensors().values()) assertThat(t.offset() % alignment).isZero();
        }
    }

    @Test
    void aSourceThatWritesTheWrongSizeFailsAndLeavesTheOldFile() throws IOException {
        Path p = dir.resolve("keep.gguf");
        Files.writeString(p, "previous content");
        GgufWriter shortSource = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, sink -> sink.write(MemorySegment.ofArray(new byte[12])));
        assertThatThrownBy(() -> shortSource.write(p)).isInstanceOf(IllegalStateException.class).hasMessageContaining("wrote 12 bytes, expected 16");
        GgufWriter longSource = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, sink -> sink.write(MemorySegment.ofArray(new byte[20])));
        assertThatThrownBy(() -> longSource.write(p)).isInstanceOf(IllegalStateException.class).hasMessageContaining("more than its 16 bytes");
        GgufWriter failing = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, sink -> {
            throw new IOException("generator broke");
        });
        assertThatThrownBy(() -> failing.write(p)).isInstanceOf(IOException.class).hasMessage("generator broke");
        assertThat(Files.readString(p)).isEqualTo("previous content");
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).containsExactly(p);
        }
    }

    @Test
    void badInputIsRejectedWithItsName() {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.put("k", GgufValue.of(GgufValueType.UINT32, 5L))).hasMessageContaining("metadata k").hasMessageContaining("UINT32");
        assertThatThrownBy(() -> w.put("k", GgufValue.array(GgufValueType.FLOAT32, new int[1]))).hasMessageContaining("ARRAY<FLOAT32>");
        assertThatThrownBy(() -> w.put("k", GgufValue.array(GgufValueType.ARRAY, new GgufValue[] {GgufValue.uint32(1)}))).hasMessageContaining("metadata k");
        assertThatThrownBy(() -> w.put("", GgufValue.uint32(1))).hasMessageContaining("non-empty");
        assertThatThrownBy(() -> w.addTensor("q", GgmlType.Q8_0, new long[] {31, 2}, MemorySegment.ofArray(new byte[68])))
                .hasMessageContaining("tensor q").hasMessageContaining("block size 32");
        assertThatThrownBy(() -> w.addTensor("f", GgmlType.F32, new long[] {2}, MemorySegment.ofArray(new byte[7]))).hasMessageContaining("needs 8 bytes, got 7");
        assertThatThrownBy(() -> w.addTensor("f", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, MemorySegment.ofArray(new byte[4]))).hasMessageContaining("5 dimensions");
        w.addTensor("d", GgmlType.F32, new long[] {1}, MemorySegment.ofArray(new byte[4]));
        assertThatThrownBy(() -> w.addTensor("d", GgmlType.F32, new long[] {1}, MemorySegment.ofArray(new byte[4]))).hasMessageContaining("duplicate tensor d");
        assertThatThrownBy(() -> new GgufWriter().put("general.alignment", GgufValue.uint32(24)).write(dir.resolve("x.gguf")))
                .hasMessageContaining("power of two");
    }

    /** llama.cpp's files, metadata and tensors copied through the writer, come out byte for byte the same. */
    @ParameterizedTest
    @ValueSource(strings = {"models/stories260K.gguf", "models/TinyStories-656K-F32.gguf", "models/TinyStories-656K-Q8_0.gguf",
            "models/qwen2-tiny-Q8_0.gguf", "models/llama3-tiny-Q8_0.gguf", "models/qwen3-tiny-Q8_0.gguf",
            "models/llama-spm-quants-Q4_0.gguf", "models/llama-spm-quants-Q4_K_M.gguf", "models/llama-spm-quants-Q5_K_M.gguf",
            "models/llama-spm-quants-Q6_K.gguf", "models/llama-spm-quants-F16-embQ6K.gguf", "models/llama-spm-quants-BF16-embQ6K.gguf",
            "vocab/ggml-vocab-qwen2.5.gguf", "vocab/ggml-vocab-llama3.2-bpe.gguf"})
    void rewritingLlamaCppFilesIsByteIdentical(String file) throws IOException {
        Path src = Fixtures.shared().resolve(file);
        Path out = dir.resolve("copy.gguf");
        try (GgufFile g = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter().putAll(g.metadata());
            for (GgufTensorInfo t : g.tensors().values()) w.addTensor(t.name(), t.type(), t.dims(), g.tensorData(t));
            w.write(out);
        }
        assertThat(Files.mismatch(src, out)).as("first differing byte").isEqualTo(-1L);
    }

    /**
     * This vocabulary file was written without padding after its header (it has no tensors; llama.cpp's writer pads,
     * as this one does): the copy differs only by that padding.
     */
    @Test
    void rewritingTheUnpaddedVocabularyDiffersOnlyByPadding() throws IOException {
        Path src = Fixtures.shared().resolve("vocab/ggml-vocab-llama-spm.gguf");
        Path out = dir.resolve("copy.gguf");
        try (GgufFile g = GgufFile.open(src)) {
            new GgufWriter().putAll(g.metadata()).write(out);
        }
        byte[] a = Files.readAllBytes(src), b = Files.readAllBytes(out);
        assertThat(b.length).isEqualTo((a.length + 31) / 32 * 32);
        assertThat(java.util.Arrays.copyOf(b, a.length)).isEqualTo(a);
        for (int i = a.length; i < b.length; i++) assertThat(b[i]).isZero();
    }
}
