package io.baton.bench.run;

import com.sun.management.GarbageCollectionNotificationInfo;

import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * The collections of this JVM while it is open, as intervals on the {@code System.nanoTime()} clock, so a
 * measurement can tell which of its outliers fell inside one. The JVM reports each collection's start and duration in
 * milliseconds of uptime; they are moved onto the nanosecond clock with one reading of both clocks, so an interval is
 * accurate to about a millisecond. Concurrent collectors (ZGC's cycles) are reported too, though their threads do not
 * stop the application: read {@code "pause"} from {@link Pause#action()} where it matters.
 */
public final class GcPauses implements AutoCloseable {
    /** One collection: {@code [startNanos, endNanos]} on the nanoTime clock. */
    public record Pause(String gc, String action, long startNanos, long endNanos) {
        public double millis() {
            return (endNanos - startNanos) / 1e6;
        }
    }

    private final List<Pause> pauses = new ArrayList<>();
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener listener = this::onNotification;
    private final long nanosAtUptimeZero;

    public GcPauses() {
        long uptimeMs = ManagementFactory.getRuntimeMXBean().getUptime();
        nanosAtUptimeZero = System.nanoTime() - uptimeMs * 1_000_000;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(listener, null, null);
                emitters.add(e);
            }
        }
    }

    private void onNotification(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long start = nanosAtUptimeZero + info.getGcInfo().getStartTime() * 1_000_000;
        long end = nanosAtUptimeZero + info.getGcInfo().getEndTime() * 1_000_000;
        synchronized (pauses) {
            pauses.add(new Pause(info.getGcName(), info.getGcAction(), start, end));
        }
    }

    /** The collections reported so far (notifications arrive shortly after each one ends). */
    public List<Pause> pauses() {
        synchronized (pauses) {
            return List.copyOf(pauses);
        }
    }

    /** Whether {@code [fromNanos, toNanos]} overlaps a collection widened by {@code slackNanos} on both sides. */
    public static boolean overlaps(List<Pause> pauses, long fromNanos, long toNanos, long slackNanos) {
        for (Pause p : pauses) {
            if (fromNanos <= p.endNanos() + slackNanos && toNanos >= p.startNanos() - slackNanos) return true;
        }
        return false;
    }

    @Override
    public void close() {
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(listener);
            } catch (ListenerNotFoundException ignored) {
                // already gone
            }
        }
    }
}
