package io.baton.kvtransfer;

import io.baton.engine.kv.KvType;

/**
 * How a DATA frame's rows are encoded on the wire: one of the KV storage types (the bytes of the storage, as they are)
 * or INT8 with one float32 scale per (token, head). The receiver converts any of them to its own storage type.
 */
public enum WireType {
    F32(0, KvType.F32),
    F16(1, KvType.F16),
    BF16(2, KvType.BF16),
    /** Per row: {@code heads} float32 scales, then {@code heads × dim} signed bytes (see {@link Int8Rows}). */
    INT8(3, null);

    /** The byte in the frame header. */
    public final int code;
    /** The storage type whose bytes this wire type carries unchanged, or null for INT8. */
    public final KvType kvType;

    WireType(int code, KvType kvType) {
        this.code = code;
        this.kvType = kvType;
    }

    /** The wire type that carries {@code type}'s bytes unchanged. */
    public static WireType of(KvType type) {
        return switch (type) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
        };
    }

    /** The wire type of a header byte, or null if there is none. */
    public static WireType fromCode(int code) {
        for (WireType w : values()) if (w.code == code) return w;
        return null;
    }

    /** Bytes of one token's row of {@code heads} heads of {@code dim} elements. */
    public long rowBytes(int heads, int dim) {
        return this == INT8 ? (long) heads * Float.BYTES + (long) heads * dim : (long) heads * dim * kvType.bytes;
    }

    /** Parses a CLI spelling: {@code native} (the sender's storage type, returned as null), f32, f16, bf16, int8. */
    public static WireType parse(String name) {
        String n = name.trim();
        if (n.equalsIgnoreCase("native")) return null;
        for (WireType w : values()) if (w.name().equalsIgnoreCase(n)) return w;
        throw new IllegalArgumentException("unknown KV wire type '" + name + "' (expected native, f32, f16, bf16 or int8)");
    }
}
