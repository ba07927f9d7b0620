package io.baton.engine.gguf;

import java.util.Arrays;

/**
 * One metadata value with its GGUF type, kept so that a writer can reproduce the file exactly.
 *
 * <p>Java representation: UINT8/INT8 → {@code Byte}, UINT16/INT16 → {@code Short}, UINT32/INT32 → {@code Integer},
 * UINT64/INT64 → {@code Long} (unsigned values keep their bits), FLOAT32 → {@code Float}, FLOAT64 → {@code Double},
 * BOOL → {@code Boolean}, STRING → {@code String}. An ARRAY holds a primitive array of the element type
 * ({@code byte[]}, {@code short[]}, {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]},
 * {@code String[]}) or, for arrays of arrays, a {@code GgufValue[]}; {@link #elementType} names the element type.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue of(GgufValueType type, Object value) {
        return new GgufValue(type, null, value);
    }

    public static GgufValue array(GgufValueType elementType, Object array) {
        return new GgufValue(GgufValueType.ARRAY, elementType, array);
    }

    public static GgufValue string(String s) {
        return of(GgufValueType.STRING, s);
    }

    public static GgufValue uint32(int v) {
        return of(GgufValueType.UINT32, v);
    }

    public static GgufValue float32(float v) {
        return of(GgufValueType.FLOAT32, v);
    }

    /** An integer of any width as a long; unsigned types are read as unsigned. */
    public long asLong() {
        return switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) value);
            case INT8 -> (Byte) value;
            case UINT16 -> Short.toUnsignedLong((Short) value);
            case INT16 -> (Short) value;
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT32 -> (Integer) value;
            case UINT64, INT64 -> (Long) value;
            case BOOL -> ((Boolean) value) ? 1 : 0;
            default -> throw new GgufException("metadata value of type " + type + " is not an integer");
        };
    }

    public double asDouble() {
        return switch (type) {
            case FLOAT32 -> (Float) value;
            case FLOAT64 -> (Double) value;
            default -> asLong();
        };
    }

    /** The number of elements of an array value. */
    public int length() {
        if (type != GgufValueType.ARRAY) throw new GgufException("metadata value of type " + type + " is not an array");
        return java.lang.reflect.Array.getLength(value);
    }

    @Override
    public String toString() {
        if (type != GgufValueType.ARRAY) return type + ":" + value;
        int n = length();
        return "ARRAY<" + elementType + ">[" + n + "]";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GgufValue(GgufValueType t, GgufValueType et, Object v))) return false;
        return t == type && et == elementType && Arrays.deepEquals(new Object[] {value}, new Object[] {v});
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Arrays.deepHashCode(new Object[] {value});
    }
}
