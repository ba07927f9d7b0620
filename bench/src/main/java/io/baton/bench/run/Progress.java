package io.baton.bench.run;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live progress line on stderr: a bar redrawn in place on a terminal, a plain line every 10 s otherwise (logs
 * stay readable), nothing when disabled. Counters are bumped from the event loop and the decoder; the drawing runs on
 * its own daemon thread.
 */
public final class Progress implements AutoCloseable {
    public final AtomicInteger sent = new AtomicInteger(), done = new AtomicInteger(), failed = new AtomicInteger();
    public final LongAdder outputTokens = new LongAdder();

    private final PrintWriter err;
    private final int total;
    private final String label;
    private final boolean tty;
    private final long start = System.nanoTime();
    private final Thread thread;
    private volatile boolean closed;

    /** A progress that counts but never draws. */
    public static Progress off(int total) {
        return new Progress(null, total, "", "off");
    }

    /** @param mode {@code auto} (bar on a terminal, lines otherwise), {@code bar}, {@code lines} or {@code off} */
    public Progress(PrintWriter err, int total, String label, String mode) {
        this.err = err;
        this.total = total;
        this.label = label;
        boolean enabled = !mode.equals("off");
        this.tty = mode.equals("bar") || (mode.equals("auto") && System.console() != null);
        if (!enabled) {
            thread = null;
            return;
        }
        thread = Thread.ofPlatform().daemon().name("bench-progress").start(() -> {
            long lastLine = System.nanoTime();
            while (!closed) {
                try {
                    Thread.sleep(tty ? 200 : 500);
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) return;
                if (tty) {
                    err.print("\r" + line());
                    err.flush();
                } else if (System.nanoTime() - lastLine >= 10_000_000_000L) {
                    err.println(line());
                    lastLine = System.nanoTime();
                }
            }
        });
    }

    String line() {
        double secs = (System.nanoTime() - start) / 1e9;
        int d = done.get(), f = failed.get(), s = sent.get();
        int width = 30, filled = total == 0 ? width : (int) ((long) width * (d + f) / total);
        String bar = "=".repeat(filled) + (filled < width ? ">" + " ".repeat(width - filled - 1) : "");
        return String.format(Locale.ROOT, "%s[%s] %d/%d done, %d failed, %d running, %.1f req/s, %.0f tok/s, %.0fs ",
                label.isEmpty() ? "" : label + " ", bar, d, total, f, s - d - f, d / secs, outputTokens.sum() / secs, secs);
    }

    @Override
    public void close() {
        if (thread == null || closed) return;
        closed = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.print((tty ? "\r" : "") + line() + System.lineSeparator());
        err.flush();
    }
}
