package io.baton.engine.kv;

import java.util.Arrays;

/**
 * The free blocks in eviction order: a doubly linked list threaded through two int arrays (no node objects), so that
 * popping the front, appending at the back and unlinking a block from the middle (a prefix hit on a free cached block)
 * are all O(1). As vLLM's {@code FreeKVCacheBlockQueue} (vllm/v1/core/kv_cache_utils.py), with ids instead of objects.
 *
 * <p>Index {@code n} is a sentinel: {@code next[n]} is the front, {@code prev[n]} the back. A block not in the queue has
 * {@code next = prev = -1}.
 */
final class FreeBlockQueue {
    private static final int NONE = -1;

    private final int[] next;
    private final int[] prev;
    private final int sentinel;
    private int size;

    /** A queue holding every block {@code 0 .. n-1}, in id order. */
    FreeBlockQueue(int n) {
        next = new int[n + 1];
        prev = new int[n + 1];
        sentinel = n;
        Arrays.fill(next, NONE);
        Arrays.fill(prev, NONE);
        next[sentinel] = prev[sentinel] = sentinel;
        for (int b = 0; b < n; b++) append(b);
    }

    int size() {
        return size;
    }

    boolean contains(int block) {
        return next[block] != NONE;
    }

    /** Removes and returns the front block (the next to be evicted or reused). */
    int popFirst() {
        if (size == 0) throw new IllegalStateException("no free block");
        int b = next[sentinel];
        remove(b);
        return b;
    }

    /** Puts a block at the back (evicted last). */
    void append(int block) {
        if (contains(block)) throw new IllegalStateException("block " + block + " is already free");
        int last = prev[sentinel];
        next[last] = block;
        prev[block] = last;
        next[block] = sentinel;
        prev[sentinel] = block;
        size++;
    }

    /** Unlinks a block from wherever it is. */
    void remove(int block) {
        if (!contains(block)) throw new IllegalStateException("block " + block + " is not free");
        next[prev[block]] = next[block];
        prev[next[block]] = prev[block];
        next[block] = prev[block] = NONE;
        size--;
    }

    /** The queue front to back (for tests and diagnostics; O(n)). */
    int[] toArray() {
        int[] out = new int[size];
        int i = 0;
        for (int b = next[sentinel]; b != sentinel; b = next[b]) out[i++] = b;
        return out;
    }
}
