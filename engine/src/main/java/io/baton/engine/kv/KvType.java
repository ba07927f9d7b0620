package io.baton.engine.kv;

/**
 * How one K or V element is stored in the block pool. Attention always computes in float; the type only decides memory
 * (and memory bandwidth) per element and the rounding applied when a row is written.
 */
public enum KvType {
    /** IEEE binary32: exact, no conversion on read or write. The default (see docs/kv-cache.md). */
    F32(4),
    /** IEEE binary16: 11-bit significand, range ±65504; values beyond become ±infinity. */
    F16(2),
    /** bfloat16: the upper half of a binary32 (8-bit significand, float's full range), rounded to nearest even. */
    BF16(2);

    /** Bytes one element takes. */
    public final int bytes;

    KvType(int bytes) {
        this.bytes = bytes;
    }

    /** Parses a CLI spelling ({@code f32}, {@code F16}, {@code bf16}) with a one-line error for anything else. */
    public static KvType parse(String name) {
        for (KvType t : values()) {
            if (t.name().equalsIgnoreCase(name.trim())) return t;
        }
        throw new IllegalArgumentException("unknown KV type '" + name + "' (expected one of f32, f16, bf16)");
    }
}
