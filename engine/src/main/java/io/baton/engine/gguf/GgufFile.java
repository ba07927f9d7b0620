package io.baton.engine.gguf;

import io.baton.engine.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF v2/v3 file, memory-mapped read-only (ggml/docs/gguf.md). The metadata and tensor infos are parsed onto the
 * heap; tensor data stays in the mapping and is handed out as {@link MemorySegment} slices, so weights are never copied
 * and files over 2 GiB work. Every size read from the file is checked against the file's length before it is used, so
 * a corrupt file gives a {@link GgufException}, never an out-of-memory error or a crash.
 *
 * <p>Closing the file unmaps it: slices handed out before become unusable.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    /** GGML_MAX_DIMS in ggml.h. */
    public static final int MAX_DIMS = 4;
    /** Alignment of the data section when general.alignment is absent (GGUF_DEFAULT_ALIGNMENT). */
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Nesting limit for arrays of arrays: real files nest at most once; a deeper one is corrupt. */
    private static final int MAX_ARRAY_DEPTH = 8;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataOffset;
    private final int alignment;
    private long pos;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        if (file.byteSize() < 24) throw corrupt("file is only " + file.byteSize() + " bytes, too short for a GGUF header");
        int magic = file.get(U32, 0);
        if (magic != MAGIC) {
            throw corrupt(String.format("not a GGUF file (magic 0x%08x, expected 0x%08x \"GGUF\")", magic, MAGIC));
        }
        pos = 4;
        version = readU32();
        if (version != 2 && version != 3) {
            throw corrupt("unsupported GGUF version " + version + " (supported: 2, 3)");
        }
        long tensorCount = readU64();
        long kvCount = readU64();
        // Each key-value pair takes at least 12 bytes and each tensor info at least 28: a count larger than the file
        // can hold is corrupt, and checking it first keeps a corrupt count from allocating huge maps.
        if (kvCount < 0 || kvCount > remaining() / 12) throw corrupt("metadata count " + Long.toUnsignedString(kvCount) + " does not fit in the file");
        if (tensorCount < 0 || tensorCount > remaining() / 28) throw corrupt("tensor count " + Long.toUnsignedString(tensorCount) + " does not fit in the file");

        Map<String, GgufValue> md = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = readString();
            GgufValueType type = readType();
            md.put(key, readValue(type, 0));
        }
        this.metadata = Collections.unmodifiableMap(md);

        GgufValue al = md.get("general.alignment");
        alignment = al == null ? DEFAULT_ALIGNMENT : (int) al.asLong();
        if (alignment <= 0 || Integer.bitCount(alignment) != 1 || alignment > 1 << 20) {
            throw corrupt("general.alignment " + alignment + " is not a power of two up to 1 MiB");
        }

        Map<String, GgufTensorInfo> ts = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = readString();
            int nDims = readU32();
            if (nDims < 1 || nDims > MAX_DIMS) throw corrupt("tensor '" + name + "' has " + nDims + " dimensions (1.." + MAX_DIMS + " allowed)");
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = readU64();
                if (dims[d] <= 0 || dims[d] > file.byteSize() * 2) {
                    throw corrupt("tensor '" + name + "' has an absurd dimension " + Long.toUnsignedString(dims[d]));
                }
                elements = Math.multiplyHigh(elements, dims[d]) != 0 ? -1 : elements * dims[d];
                if (elements < 0) throw corrupt("tensor '" + name + "' has too many elements");
            }
            int typeId = readU32();
            GgmlType type = GgmlType.ofId(typeId);
            if (type == null) throw corrupt("tensor '" + name + "' has unknown tensor type " + typeId);
            if (dims[0] % type.blockSize != 0) {
                throw corrupt("tensor '" + name + "' row of " + dims[0] + " elements is not a multiple of " + type + "'s block size " + type.blockSize);
            }
            long offset = readU64();
            if (ts.put(name, new GgufTensorInfo(name, type, dims, offset)) != null) throw corrupt("duplicate tensor '" + name + "'");
        }
        this.tensors = Collections.unmodifiableMap(ts);
        dataOffset = align(pos, alignment);
        for (GgufTensorInfo t : ts.values()) {
            long size = t.byteSize();
            if (t.offset() % alignment != 0) {
                throw corrupt("tensor '" + t.name() + "' data offset " + Long.toUnsignedString(t.offset()) + " is not a multiple of the alignment " + alignment);
            }
            if (t.offset() < 0
                    || t.offset() > file.byteSize() - dataOffset || size > file.byteSize() - dataOffset - t.offset()) {
                throw corrupt("tensor '" + t.name() + "' (" + t.type() + " " + t.shape() + ", " + size + " bytes at data offset "
                        + Long.toUnsignedString(t.offset()) + ") lies outside the file of " + file.byteSize() + " bytes (truncated?)");
            }
        }
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws GgufException when the file is missing, unreadable or not a valid GGUF v2/v3 file
     */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new GgufException("model file not found: " + path);
        } catch (IOException e) {
            arena.close();
            throw new GgufException("cannot read model file " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof GgufException) throw e;
            throw new GgufException("corrupt GGUF file " + path + ": " + e, e);
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return file.byteSize();
    }

    /** All metadata, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** All tensor infos, in file order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new GgufException("missing metadata key " + key + " in " + path);
        return v;
    }

    public String getString(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.STRING) throw new GgufException("metadata " + key + " is " + v.type() + ", expected STRING");
        return (String) v.value();
    }

    public String getString(String key, String dflt) {
        return has(key) ? getString(key) : dflt;
    }

    public long getLong(String key) {
        return value(key).asLong();
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new GgufException("metadata " + key + " = " + v + " is out of int range");
        return (int) v;
    }

    public int getInt(String key, int dflt) {
        return has(key) ? getInt(key) : dflt;
    }

    public float getFloat(String key) {
        return (float) value(key).asDouble();
    }

    public float getFloat(String key, float dflt) {
        return has(key) ? getFloat(key) : dflt;
    }

    public boolean getBool(String key, boolean dflt) {
        return has(key) ? value(key).asLong() != 0 : dflt;
    }

    public String[] getStringArray(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.STRING) {
            throw new GgufException("metadata " + key + " is " + v + ", expected an array of strings");
        }
        return (String[]) v.value();
    }

    public float[] getFloatArray(String key) {
        GgufValue v = value(key);
        if (v.type() == GgufValueType.ARRAY && v.value() instanceof float[] f) return f;
        throw new GgufException("metadata " + key + " is " + v + ", expected an array of FLOAT32");
    }

    /** An array of any integer type as ints. */
    public int[] getIntArray(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufValueType.ARRAY) throw new GgufException("metadata " + key + " is " + v + ", expected an integer array");
        return switch (v.value()) {
            case int[] a -> a;
            case byte[] a -> { int[] r = new int[a.length]; for (int i = 0; i < a.length; i++) r[i] = v.elementType() == GgufValueType.UINT8 ? a[i] & 0xff : a[i]; yield r; }
            case short[] a -> { int[] r = new int[a.length]; for (int i = 0; i < a.length; i++) r[i] = v.elementType() == GgufValueType.UINT16 ? a[i] & 0xffff : a[i]; yield r; }
            case long[] a -> { int[] r = new int[a.length]; for (int i = 0; i < a.length; i++) r[i] = Math.toIntExact(a[i]); yield r; }
            default -> throw new GgufException("metadata " + key + " is " + v + ", expected an integer array");
        };
    }

    public GgufTensorInfo tensorInfo(String name) {
        return tensors.get(name);
    }

    /** The bytes of a tensor, a slice of the mapping (no copy). */
    public MemorySegment tensorData(GgufTensorInfo t) {
        return file.asSlice(dataOffset + t.offset(), t.byteSize());
    }

    @Override
    public void close() {
        arena.close();
    }

    // ---- parsing -------------------------------------------------------------------------------------------

    private GgufException corrupt(String what) {
        return new GgufException("corrupt GGUF file " + path + ": " + what);
    }

    private long remaining() {
        return file.byteSize() - pos;
    }

    private void need(long bytes) {
        if (bytes < 0 || bytes > remaining()) {
            throw corrupt("truncated at byte " + pos + " (needs " + Long.toUnsignedString(bytes) + " more bytes, file has " + file.byteSize() + ")");
        }
    }

    private int readU32() {
        need(4);
        int v = file.get(U32, pos);
        pos += 4;
        return v;
    }

    private long readU64() {
        need(8);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    private GgufValueType readType() {
        int id = readU32();
        try {
            return GgufValueType.ofId(id);
        } catch (GgufException e) {
            throw corrupt("unknown metadata value type " + id + " at byte " + (pos - 4));
        }
    }

    private String readString() {
        long len = readU64();
        need(len);
        if (len > Integer.MAX_VALUE - 16) throw corrupt("string of " + len + " bytes");
        byte[] b = file.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
        pos += len;
        return new String(b, StandardCharsets.UTF_8);
    }

    private GgufValue readValue(GgufValueType type, int depth) {
        return switch (type) {
            case UINT8, INT8 -> { need(1); byte b = file.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield GgufValue.of(type, b); }
            case UINT16, INT16 -> { need(2); short s = file.get(U16, pos); pos += 2; yield GgufValue.of(type, s); }
            case UINT32, INT32 -> GgufValue.of(type, readU32());
            case UINT64, INT64 -> GgufValue.of(type, readU64());
            case FLOAT32 -> { need(4); float f = file.get(F32, pos); pos += 4; yield GgufValue.of(type, f); }
            case FLOAT64 -> { need(8); double d = file.get(F64, pos); pos += 8; yield GgufValue.of(type, d); }
            case BOOL -> { need(1); byte b = file.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield GgufValue.of(type, b != 0); }
            case STRING -> GgufValue.string(readString());
            case ARRAY -> readArray(depth);
        };
    }

    private GgufValue readArray(int depth) {
        if (depth >= MAX_ARRAY_DEPTH) throw corrupt("arrays nested deeper than " + MAX_ARRAY_DEPTH);
        GgufValueType et = readType();
        long n = readU64();
        if (n < 0 || n > remaining() / et.minBytes) {
            throw corrupt("array of " + Long.toUnsignedString(n) + " " + et + " values does not fit in the file");
        }
        int count = (int) n;
        Object arr = switch (et) {
            case UINT8, INT8 -> { byte[] a = file.asSlice(pos, count).toArray(ValueLayout.JAVA_BYTE); pos += count; yield a; }
            case UINT16, INT16 -> { short[] a = file.asSlice(pos, 2L * count).toArray(U16); pos += 2L * count; yield a; }
            case UINT32, INT32 -> { int[] a = file.asSlice(pos, 4L * count).toArray(U32); pos += 4L * count; yield a; }
            case UINT64, INT64 -> { long[] a = file.asSlice(pos, 8L * count).toArray(U64); pos += 8L * count; yield a; }
            case FLOAT32 -> { float[] a = file.asSlice(pos, 4L * count).toArray(F32); pos += 4L * count; yield a; }
            case FLOAT64 -> { double[] a = file.asSlice(pos, 8L * count).toArray(F64); pos += 8L * count; yield a; }
            case BOOL -> { boolean[] a = new boolean[count]; for (int i = 0; i < count; i++) a[i] = file.get(ValueLayout.JAVA_BYTE, pos + i) != 0; pos += count; yield a; }
            case STRING -> { String[] a = new String[count]; for (int i = 0; i < count; i++) a[i] = readString(); yield a; }
            case ARRAY -> { GgufValue[] a = new GgufValue[count]; for (int i = 0; i < count; i++) a[i] = readArray(depth + 1); yield a; }
        };
        return GgufValue.array(et, arr);
    }

    static long align(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }
}
