package io.baton.engine.sampling;

import java.util.Arrays;

/**
 * How often each token id occurred in a request's prompt and in its generated output: what the penalties of
 * {@link Sampler} read. One per request, not thread-safe.
 *
 * <p>An open-addressing hash map from token id to two counters, so memory follows the number of distinct tokens
 * seen (not the 150k vocabulary) and updates do not box.
 */
public final class TokenCounts {
    private static final int EMPTY = -1;

    private int[] keys;
    private int[] prompt;
    private int[] generated;
    private int size;
    private int generatedTotal;

    public TokenCounts() {
        allocate(16);
    }

    /** Counts of a prompt; generated tokens are added with {@link #addGenerated}. */
    public static TokenCounts ofPrompt(int[] promptTokens) {
        TokenCounts c = new TokenCounts();
        for (int t : promptTokens) c.addPrompt(t);
        return c;
    }

    public void addPrompt(int token) {
        int s = slotFor(token); // first: it may grow (replace) the arrays
        prompt[s]++;
    }

    public void addGenerated(int token) {
        int s = slotFor(token);
        generated[s]++;
        generatedTotal++;
    }

    public int promptCount(int token) {
        int s = find(token);
        return s < 0 ? 0 : prompt[s];
    }

    public int generatedCount(int token) {
        int s = find(token);
        return s < 0 ? 0 : generated[s];
    }

    /** Number of tokens generated so far. */
    public int generatedTotal() {
        return generatedTotal;
    }

    /** Number of distinct token ids seen in prompt or output. */
    public int distinctTokens() {
        return size;
    }

    /** Receives each distinct token with its counts. */
    @FunctionalInterface
    public interface Visitor {
        void visit(int token, int promptCount, int generatedCount);
    }

    /** Visits every distinct token seen, in no particular order. */
    public void forEach(Visitor visitor) {
        for (int s = 0; s < keys.length; s++) {
            if (keys[s] != EMPTY) visitor.visit(keys[s], prompt[s], generated[s]);
        }
    }

    private int find(int token) {
        int mask = keys.length - 1;
        for (int s = hash(token) & mask; ; s = (s + 1) & mask) {
            if (keys[s] == token) return s;
            if (keys[s] == EMPTY) return -1;
        }
    }

    private int slotFor(int token) {
        if (token < 0) throw new IllegalArgumentException("token id must be >= 0, got " + token);
        int mask = keys.length - 1;
        for (int s = hash(token) & mask; ; s = (s + 1) & mask) {
            if (keys[s] == token) return s;
            if (keys[s] == EMPTY) {
                if ((size + 1) * 2 > keys.length) { // keep the load factor under 1/2
                    grow();
                    return slotFor(token);
                }
                keys[s] = token;
                size++;
                return s;
            }
        }
    }

    private static int hash(int token) {
        return (token * 0x9E3779B9) ^ (token * 0x9E3779B9 >>> 16); // Fibonacci hashing, high bits folded down
    }

    private void grow() {
        int[] oldKeys = keys, oldPrompt = prompt, oldGenerated = generated;
        int n = size;
        allocate(keys.length * 2);
        size = n;
        for (int s = 0; s < oldKeys.length; s++) {
            if (oldKeys[s] == EMPTY) continue;
            int mask = keys.length - 1;
            int t = hash(oldKeys[s]) & mask;
            while (keys[t] != EMPTY) t = (t + 1) & mask;
            keys[t] = oldKeys[s];
            prompt[t] = oldPrompt[s];
            generated[t] = oldGenerated[s];
        }
    }

    private void allocate(int capacity) {
        keys = new int[capacity];
        Arrays.fill(keys, EMPTY);
        prompt = new int[capacity];
        generated = new int[capacity];
        size = 0;
    }
}
