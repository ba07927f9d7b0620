package io.baton.kvtransfer;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link KvSender} or {@link KvReceiver}, for metrics and for tests that prove nothing leaked. All are
 * monotonic except {@link #live()}.
 */
public final class KvTransferStats {
    final LongAdder started = new LongAdder();
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder live = new LongAdder();
    final LongAdder framesSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder framesReceived = new LongAdder();
    final LongAdder bytesReceived = new LongAdder();
    /** Frames for transfers that are finished or unknown, and acknowledgements that came too late. */
    final LongAdder framesDropped = new LongAdder();
    /** (layer, token) rows that arrived a second time. */
    final LongAdder rowsDuplicated = new LongAdder();
    final LongAdder badFrames = new LongAdder();
    final LongAdder linksOpened = new LongAdder();
    final LongAdder linksRefused = new LongAdder();
    final LongAdder linksLost = new LongAdder();
    private final Map<FailureCode, LongAdder> failures = new EnumMap<>(FailureCode.class);

    KvTransferStats() {
        for (FailureCode c : FailureCode.values()) failures.put(c, new LongAdder());
    }

    void countFailure(FailureCode code) {
        failed.increment();
        failures.get(code).increment();
    }

    public long started() { return started.sum(); }
    public long succeeded() { return succeeded.sum(); }
    public long failed() { return failed.sum(); }
    /** Transfers started and not yet finished. */
    public long live() { return live.sum(); }
    public long failed(FailureCode code) { return failures.get(code).sum(); }
    public long leasesExpired() { return failed(FailureCode.LEASE_EXPIRED); }
    public long framesSent() { return framesSent.sum(); }
    /** Payload bytes sent (headers not counted). */
    public long bytesSent() { return bytesSent.sum(); }
    public long framesReceived() { return framesReceived.sum(); }
    /** Payload bytes received and landed or dropped. */
    public long bytesReceived() { return bytesReceived.sum(); }
    public long framesDropped() { return framesDropped.sum(); }
    public long rowsDuplicated() { return rowsDuplicated.sum(); }
    public long badFrames() { return badFrames.sum(); }
    public long linksOpened() { return linksOpened.sum(); }
    public long linksRefused() { return linksRefused.sum(); }
    public long linksLost() { return linksLost.sum(); }

    /** Every counter by name (failures as {@code failed_<code>}), for metrics export and test messages. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("started", started());
        m.put("succeeded", succeeded());
        m.put("failed", failed());
        m.put("live", live());
        m.put("frames_sent", framesSent());
        m.put("bytes_sent", bytesSent());
        m.put("frames_received", framesReceived());
        m.put("bytes_received", bytesReceived());
        m.put("frames_dropped", framesDropped());
        m.put("rows_duplicated", rowsDuplicated());
        m.put("bad_frames", badFrames());
        m.put("links_opened", linksOpened());
        m.put("links_refused", linksRefused());
        m.put("links_lost", linksLost());
        for (FailureCode c : FailureCode.values()) m.put("failed_" + c.name().toLowerCase(), failed(c));
        return m;
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }
}
