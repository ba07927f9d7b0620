package io.baton.engine.gguf;

import io.baton.engine.tensor.GgmlType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF v3 file (ggml/docs/gguf.md) laid out as llama.cpp's {@code gguf_write_to_buf} lays it out: header,
 * metadata in insertion order, tensor infos in insertion order, zero padding up to the alignment, then each tensor's
 * bytes followed by zero padding up to the alignment. The alignment is {@code general.alignment} when the metadata
 * sets it, else 32.
 *
 * <p>Tensor offsets are computed from the declared shapes before any data is written, so each tensor is streamed
 * straight to the file through a {@link FileChannel}: files of many GB are written without holding them in memory.
 * The file is written under a temporary name beside the target and moved into place only when complete, so a failed
 * write leaves an existing file untouched.
 */
public final class GgufWriter {
    /** The only version this writer produces. */
    public static final int VERSION = 3;

    /** Receives a tensor's bytes, in order, in pieces of any size. */
    @FunctionalInterface
    public interface TensorSink {
        void write(MemorySegment bytes) throws IOException;
    }

    /** Produces a tensor's bytes when the writer reaches it: exactly {@code byteSize} bytes in total. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(TensorSink sink) throws IOException;
    }

    private record PendingTensor(String name, GgmlType type, long[] dims, long byteSize, TensorSource source) {}

    /** Largest slice handed to one channel write (a ByteBuffer view cannot exceed 2 GiB). */
    private static final long WRITE_SLICE = 64L << 20;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    /** Sets a metadata value; a key set twice keeps its first position and its last value. */
    public GgufWriter put(String key, GgufValue value) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("metadata key must be non-empty");
        checkValue(key, value, 0);
        metadata.put(key, value);
        return this;
    }

    /** Sets all these values, in the map's order. */
    public GgufWriter putAll(Map<String, GgufValue> values) {
        values.forEach(this::put);
        return this;
    }

    /** Adds a tensor whose bytes are already in memory (or in a mapped file). */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        long size = checkTensor(name, type, dims);
        if (data.byteSize() != size) {
            throw new IllegalArgumentException("tensor " + name + " (" + type + " " + Arrays.toString(dims) + ") needs "
                    + size + " bytes, got " + data.byteSize());
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), size, sink -> sink.write(data)));
        return this;
    }

    /** Adds a tensor whose bytes are produced while the file is written. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, TensorSource source) {
        long size = checkTensor(name, type, dims);
        tensors.add(new PendingTensor(name, type, dims.clone(), size, source));
        return this;
    }

    /** The alignment the file will use: {@code general.alignment} if set, else 32. */
    public int alignment() {
        GgufValue v = metadata.get("general.alignment");
        if (v == null) return GgufFile.DEFAULT_ALIGNMENT;
        long a = v.asLong();
        if (a <= 0 || a > 1 << 20 || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException("general.alignment " + a + " is not a power of two up to 1 MiB");
        }
        return (int) a;
    }

    /**
     * Writes the file.
     *
     * @return the number of bytes written
     * @throws IOException when the file cannot be written; the target is then left as it was
     * @throws IllegalStateException when a tensor source produced the wrong number of bytes
     */
    public long write(Path path) throws IOException {
        int alignment = alignment();
        byte[] header = header(alignment);
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        boolean done = false;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            writeFully(ch, ByteBuffer.wrap(header));
            pad(ch, header.length, alignment);
            for (PendingTensor t : tensors) {
                long[] written = {0};
                t.source().writeTo(bytes -> {
                    written[0] += bytes.byteSize();
                    if (written[0] > t.byteSize()) {
                        throw new IllegalStateException("tensor " + t.name() + ": source wrote more than its " + t.byteSize() + " bytes");
                    }
                    for (long off = 0; off < bytes.byteSize(); off += WRITE_SLICE) {
                        writeFully(ch, bytes.asSlice(off, Math.min(WRITE_SLICE, bytes.byteSize() - off)).asByteBuffer());
                    }
                });
                if (written[0] != t.byteSize()) {
                    throw new IllegalStateException("tensor " + t.name() + ": source wrote " + written[0] + " bytes, expected " + t.byteSize());
                }
                pad(ch, t.byteSize(), alignment);
            }
            long size = ch.position();
            ch.close();
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            done = true;
            return size;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    // ---- header --------------------------------------------------------------------------------------------

    /** Header, metadata and tensor infos, with each tensor's offset in the data section precomputed. */
    private byte[] header(int alignment) {
        Out out = new Out();
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id);
            writeValue(out, e.getValue());
        }
        long offset = 0;
        for (PendingTensor t : tensors) {
            out.string(t.name());
            out.u32(t.dims().length);
            for (long d : t.dims()) out.u64(d);
            out.u32(t.type().id);
            out.u64(offset);
            offset = GgufFile.align(offset + t.byteSize(), alignment);
        }
        return out.toByteArray();
    }

    /** The value's payload (its type id is written by the caller: for array elements it is the array's). */
    private static void writeValue(Out out, GgufValue v) {
        Object o = v.value();
        switch (v.type()) {
            case UINT8, INT8 -> out.u8((Byte) o);
            case UINT16, INT16 -> out.u16((Short) o);
            case UINT32, INT32 -> out.u32((Integer) o);
            case UINT64, INT64 -> out.u64((Long) o);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) o));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) o));
            case BOOL -> out.u8((Boolean) o ? 1 : 0);
            case STRING -> out.string((String) o);
            case ARRAY -> writeArray(out, v);
        }
    }

    private static void writeArray(Out out, GgufValue v) {
        out.u32(v.elementType().id);
        out.u64(v.length());
        switch (v.value()) {
            case byte[] a -> { for (byte b : a) out.u8(b); }
            case short[] a -> { for (short s : a) out.u16(s); }
            case int[] a -> { for (int i : a) out.u32(i); }
            case long[] a -> { for (long l : a) out.u64(l); }
            case float[] a -> { for (float f : a) out.u32(Float.floatToRawIntBits(f)); }
            case double[] a -> { for (double d : a) out.u64(Double.doubleToRawLongBits(d)); }
            case boolean[] a -> { for (boolean b : a) out.u8(b ? 1 : 0); }
            case String[] a -> { for (String s : a) out.string(s); }
            case GgufValue[] a -> { for (GgufValue e : a) writeArray(out, e); }
            default -> throw new IllegalStateException("unreachable: checked in put");
        }
    }

    // ---- validation ----------------------------------------------------------------------------------------

    /** Checks that the Java value matches its GGUF type (see {@link GgufValue} for the representation). */
    private static void checkValue(String key, GgufValue v, int depth) {
        if (v == null || v.type() == null || v.value() == null) throw new IllegalArgumentException("metadata " + key + " has no value");
        boolean ok = switch (v.type()) {
            case UINT8, INT8 -> v.value() instanceof Byte;
            case UINT16, INT16 -> v.value() instanceof Short;
            case UINT32, INT32 -> v.value() instanceof Integer;
            case UINT64, INT64 -> v.value() instanceof Long;
            case FLOAT32 -> v.value() instanceof Float;
            case FLOAT64 -> v.value() instanceof Double;
            case BOOL -> v.value() instanceof Boolean;
            case STRING -> v.value() instanceof String;
            case ARRAY -> v.elementType() != null && arrayMatches(key, v, depth);
        };
        if (!ok) throw new IllegalArgumentException("metadata " + key + ": value " + v.value().getClass().getSimpleName() + " does not match type " + v.type()
                + (v.type() == GgufValueType.ARRAY ? "<" + v.elementType() + ">" : ""));
    }

    private static boolean arrayMatches(String key, GgufValue v, int depth) {
        return switch (v.elementType()) {
            case UINT8, INT8 -> v.value() instanceof byte[];
            case UINT16, INT16 -> v.value() instanceof short[];
            case UINT32, INT32 -> v.value() instanceof int[];
            case UINT64, INT64 -> v.value() instanceof long[];
            case FLOAT32 -> v.value() instanceof float[];
            case FLOAT64 -> v.value() instanceof double[];
            case BOOL -> v.value() instanceof boolean[];
            case STRING -> v.value() instanceof String[] a && Arrays.stream(a).allMatch(s -> s != null);
            case ARRAY -> {
                if (!(v.value() instanceof GgufValue[] a)) yield false;
                for (GgufValue e : a) {
                    if (e == null || e.type() != GgufValueType.ARRAY) yield false;
                    checkValue(key, e, depth + 1);
                }
                yield true;
            }
        };
    }

    private long checkTensor(String name, GgmlType type, long[] dims) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name must be non-empty");
        if (dims.length < 1 || dims.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("tensor " + name + " has " + dims.length + " dimensions (1.." + GgufFile.MAX_DIMS + " allowed)");
        }
        long n = 1;
        for (long d : dims) {
            if (d <= 0) throw new IllegalArgumentException("tensor " + name + " has a non-positive dimension in " + Arrays.toString(dims));
            n = Math.multiplyExact(n, d);
        }
        if (dims[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row of " + dims[0] + " is not a multiple of " + type + "'s block size " + type.blockSize);
        }
        if (!tensorNames.add(name)) throw new IllegalArgumentException("duplicate tensor " + name);
        return type.bytesFor(n);
    }

    // ---- output --------------------------------------------------------------------------------------------

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void pad(FileChannel ch, long written, int alignment) throws IOException {
        int n = (int) (GgufFile.align(written, alignment) - written);
        if (n > 0) writeFully(ch, ByteBuffer.allocate(n));
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u8(int v) {
            bytes.write(v);
        }

        void u16(short v) {
            scratch.clear();
            scratch.putShort(v);
            bytes.write(scratch.array(), 0, 2);
        }

        void u32(int v) {
            scratch.clear();
            scratch.putInt(v);
            bytes.write(scratch.array(), 0, 4);
        }

        void u64(long v) {
            scratch.clear();
            scratch.putLong(v);
            bytes.write(scratch.array(), 0, 8);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes.write(b, 0, b.length);
        }

        byte[] toByteArray() {
            return bytes.toByteArray();
        }
    }
}
