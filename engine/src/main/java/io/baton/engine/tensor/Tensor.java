package io.baton.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A weight tensor: its GGML type, its shape ({@code dims[0]} innermost, as GGML's {@code ne}) and its bytes, a slice of
 * the memory-mapped model file. A matrix has {@link #rows()} rows of {@link #cols()} elements; each row is a whole
 * number of quantization blocks.
 */
public record Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {

    /**
     * @throws IllegalArgumentException when the shape is not 1 to 4 positive dimensions, a row is not a whole number
     *                                  of blocks, or {@code data} is shorter than the shape needs
     */
    public Tensor {
        java.util.Objects.requireNonNull(name, "name");
        java.util.Objects.requireNonNull(type, "type");
        java.util.Objects.requireNonNull(data, "data");
        if (dims.length < 1 || dims.length > 4) {
            throw new IllegalArgumentException(name + ": a tensor has 1 to 4 dimensions, got " + dims.length);
        }
        long elements = 1;
        for (long d : dims) {
            if (d < 1) throw new IllegalArgumentException(name + ": dimensions must be positive, got " + java.util.Arrays.toString(dims));
            elements = Math.multiplyExact(elements, d);
        }
        if (dims[0] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": rows of " + dims[0] + " elements are not whole " + type + " blocks of " + type.blockSize);
        }
        long needed = type.bytesFor(elements);
        if (data.byteSize() < needed) {
            throw new IllegalArgumentException(name + ": " + type + " " + java.util.Arrays.toString(dims) + " needs " + needed
                    + " bytes, data has " + data.byteSize());
        }
    }

    public int cols() {
        return Math.toIntExact(dims[0]);
    }

    /** All dimensions above the first, multiplied. */
    public int rows() {
        long r = 1;
        for (int i = 1; i < dims.length; i++) r *= dims[i];
        return Math.toIntExact(r);
    }

    public long rowBytes() {
        return type.bytesFor(dims[0]);
    }

    /** Row {@code r} dequantized into {@code out[outOff .. outOff + cols)}. */
    public void dequantizeRow(int r, float[] out, int outOff) {
        Dequant.row(type, data, r * rowBytes(), out, outOff, cols());
    }

    /** The whole tensor as floats (for small tensors: norms, biases). */
    public float[] toFloats() {
        float[] out = new float[Math.toIntExact((long) rows() * cols())];
        for (int r = 0; r < rows(); r++) dequantizeRow(r, out, r * cols());
        return out;
    }
}
