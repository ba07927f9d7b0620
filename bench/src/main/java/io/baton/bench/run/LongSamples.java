package io.baton.bench.run;

import java.util.Arrays;

/** A growable list of long samples, safe to add to from one thread while another reads a copy. */
public final class LongSamples {
    private long[] a = new long[1024];
    private int n;

    public synchronized void add(long v) {
        if (n == a.length) a = Arrays.copyOf(a, n * 2);
        a[n++] = v;
    }

    public synchronized long[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
