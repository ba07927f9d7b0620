package io.baton.engine.gguf;

/** Metadata value types, numbered as in the GGUF specification (ggml/docs/gguf.md, {@code gguf_metadata_value_type}). */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4),
    BOOL(7, 1), STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    /** The id written in the file. */
    public final int id;
    /** The fewest bytes one value of this type takes in the file (a string: its 8-byte length). */
    final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public static GgufValueType ofId(int id) {
        for (GgufValueType t : values()) {
            if (t.id == id) return t;
        }
        throw new GgufException("unknown GGUF metadata value type " + id);
    }
}
