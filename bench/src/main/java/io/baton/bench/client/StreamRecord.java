package io.baton.bench.client;

import io.vertx.core.buffer.Buffer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The raw capture of one streamed response, filled on the event loop: the bytes as they came, cut into Server-Sent
 * Events, and the {@code System.nanoTime()} at which the bytes completing each event arrived. Nothing is parsed here,
 * so the event loop does as little as possible between reads; the JSON is decoded by {@link SseDecoder} on another
 * thread, either all at the end or, with a {@link #sink}, in segments of {@value #SEGMENT_EVENTS} events while the
 * stream goes on (so long streams do not keep their bytes alive, which would lengthen collector pauses).
 *
 * <p>An event ends at a blank line ({@code \n\n}, {@code \r\n\r\n}), as in the WHATWG Server-Sent Events spec.
 */
public final class StreamRecord {
    /** Completed events handed to the sink at a time. */
    public static final int SEGMENT_EVENTS = 32;

    /** Complete events: event {@code i} is {@code bytes[ends[i-1] .. ends[i])} (from 0 for the first). */
    public record Segment(byte[] bytes, int[] ends, long[] nanos, int count) {}

    public final int index;
    public final String requestId;
    /** When the arrival process wanted it, when the scheduler woke for it, when it got a concurrency slot and was
     *  handed to the event loop, when the event loop started it, when it ended (all {@code System.nanoTime()}). */
    public long scheduledNanos, wakeNanos, dispatchNanos, sendNanos, endNanos;
    public int status;
    public String errorCode, errorMessage;
    /** Where segments of completed events go as they fill (null: everything stays until {@link #drain}). */
    public Consumer<Segment> sink;

    byte[] bytes = new byte[1024];
    int length;
    int[] eventEnds = new int[SEGMENT_EVENTS];
    long[] eventNanos = new long[SEGMENT_EVENTS];
    int events;
    private long totalEvents;
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
        if (sink != null && events >= SEGMENT_EVENTS) sink.accept(drain());
    }

    private void addEvent(int end, long nanos) {
        if (events == eventEnds.length) {
            eventEnds = Arrays.copyOf(eventEnds, events * 2);
            eventNanos = Arrays.copyOf(eventNanos, events * 2);
        }
        eventEnds[events] = end;
        eventNanos[events++] = nanos;
        totalEvents++;
        eventHasContent = false;
    }

    /** Takes the completed events out (the bytes of an unfinished event stay). Call on the thread that feeds bytes. */
    public Segment drain() {
        int used = events == 0 ? 0 : eventEnds[events - 1];
        Segment s = new Segment(Arrays.copyOf(bytes, used), Arrays.copyOf(eventEnds, events), Arrays.copyOf(eventNanos, events), events);
        System.arraycopy(bytes, used, bytes, 0, length - used);
        length -= used;
        scan -= used;
        events = 0;
        return s;
    }

    public void fail(String code, String message) {
        if (errorCode == null) {
            errorCode = code;
            errorMessage = message;
        }
    }

    /** Non-blank bytes after the last complete event (a stream cut mid-event leaves some). */
    public int trailingBytes() {
        int lastEnd = events == 0 ? 0 : eventEnds[events - 1];
        int n = 0;
        for (int i = lastEnd; i < length; i++) if (bytes[i] != '\n' && bytes[i] != '\r') n++;
        return n;
    }

    /** Events received so far, drained ones included. */
    public long eventCount() {
        return totalEvents;
    }
}
