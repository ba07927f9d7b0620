package io.baton.engine.gguf;

import io.baton.engine.tensor.GgmlType;

/**
 * A tensor as the GGUF header describes it. {@code dims[0]} is GGML's {@code ne[0]}, the innermost (contiguous)
 * dimension: a weight matrix of {@code dims = [cols, rows]} stores {@code rows} rows of {@code cols} elements.
 *
 * @param offset byte offset of the data relative to the start of the data section
 */
public record GgufTensorInfo(String name, GgmlType type, long[] dims, long offset) {

    public long elementCount() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    public String shape() {
        return java.util.Arrays.toString(dims);
    }
}
