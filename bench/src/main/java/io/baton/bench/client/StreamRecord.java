package io.baton.bench.client;

import io.vertx.core.buffer.Buffer;

import java.util.Arrays;

/**
 * The raw capture of one streamed response, filled on the event loop: the bytes as they came, cut into Server-Sent
 * Events, and the {@code System.nanoTime()} at which the bytes completing each event arrived. Nothing is parsed here,
 * so the event loop does as little as possible between reads (the JSON is decoded later by {@link SseDecoder}).
 *
 * <p>An event ends at a blank line ({@code \n\n}, {@code \r\n\r\n}), as in the WHATWG Server-Sent Events spec.
 */
public final class StreamRecord {
    public final int index;
    public final String requestId;
    /** When the arrival process wanted it, when the scheduler woke for it, when it got a concurrency slot and was
     *  handed to the event loop, when the event loop started it, when it ended (all {@code System.nanoTime()}). */
    public long scheduledNanos, wakeNanos, dispatchNanos, sendNanos, endNanos;
    public int status;
    public String errorCode, errorMessage;

    byte[] bytes = new byte[1024];
    int length;
    int[] eventEnds = new int[32];
    long[] eventNanos = new long[32];
    int events;
    private int scan;
    private boolean lineHasContent, eventHasContent;

    public StreamRecord(int index, String requestId) {
        this.index = index;
        this.requestId = requestId;
    }

    /** Appends a chunk that arrived at {@code nanos}; events completed by it get that time. */
    public void onBytes(Buffer chunk, long nanos) {
        int n = chunk.length();
        if (length + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + n));
        chunk.getBytes(0, n, bytes, length);
        length += n;
        for (; scan < length; scan++) {
            byte b = bytes[scan];
            if (b == '\n') {
                if (!lineHasContent && eventHasContent) addEvent(scan + 1, nanos);
                eventHasContent |= lineHasContent;
                lineHasContent = false;
            } else if (b != '\r') {
                lineHasContent = true;
            }
        }
    }

    private void addEvent(int end, long nanos) {
        if (events == eventEnds.length) {
            eventEnds = Arrays.copyOf(eventEnds, events * 2);
            eventNanos = Arrays.copyOf(eventNanos, events * 2);
        }
        eventEnds[events] = end;
        eventNanos[events++] = nanos;
        eventHasContent = false;
    }

    public void fail(String code, String message) {
        if (errorCode == null) {
            errorCode = code;
            errorMessage = message;
        }
    }

    /** Bytes after the last complete event (a stream cut mid-event leaves some). */
    int trailingBytes() {
        int lastEnd = events == 0 ? 0 : eventEnds[events - 1];
        int n = 0;
        for (int i = lastEnd; i < length; i++) if (bytes[i] != '\n' && bytes[i] != '\r') n++;
        return n;
    }

    public int eventCount() {
        return events;
    }

    /** Frees the raw bytes once decoded. */
    void release() {
        bytes = null;
        eventEnds = null;
        eventNanos = null;
    }
}
