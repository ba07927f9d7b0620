package io.baton.engine.model;

import java.util.Arrays;

/**
 * The keys and values of one sequence, per layer, as float32 rows (one row per position; a K row holds all KV heads).
 * Grows by doubling up to the model's context length.
 */
public final class KvCache {
    private final ModelConfig config;
    private final float[][] keys;
    private final float[][] values;
    private int capacity;
    private int length;

    public KvCache(ModelConfig config) {
        this.config = config;
        this.keys = new float[config.layers()][];
        this.values = new float[config.layers()][];
        this.capacity = 0;
    }

    /** Positions stored so far (the next token goes to position {@code length()}). */
    public int length() {
        return length;
    }

    /** Forgets positions from {@code newLength} on (e.g. to re-run a prompt). */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) throw new IllegalArgumentException("cannot truncate " + length + " positions to " + newLength);
        length = newLength;
    }

    void ensureCapacity(int positions) {
        if (positions > config.contextLength()) {
            throw new ContextOverflowException(positions, config.contextLength());
        }
        if (positions <= capacity) return;
        int cap = Math.min(config.contextLength(), Math.max(positions, Math.max(16, capacity * 2)));
        for (int l = 0; l < config.layers(); l++) {
            keys[l] = keys[l] == null ? new float[cap * config.kDim()] : Arrays.copyOf(keys[l], cap * config.kDim());
            values[l] = values[l] == null ? new float[cap * config.vDim()] : Arrays.copyOf(values[l], cap * config.vDim());
        }
        capacity = cap;
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    void setLength(int length) {
        this.length = length;
    }
}
