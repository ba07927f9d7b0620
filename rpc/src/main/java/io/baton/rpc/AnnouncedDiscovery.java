package io.baton.rpc;

import io.baton.rpc.proto.AnnounceReply;
import io.baton.rpc.proto.Announcement;
import io.baton.rpc.proto.RegistryGrpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Workers that announce themselves (registry.proto): the router's {@code Registry} service on its registration port.
 * A worker started with {@code --router} calls {@code Announce} every {@link #interval()}; the first call adds it, and a
 * worker silent for {@link #timeout()} is removed. Listeners hear of both on this discovery's own thread, in order.
 */
public final class AnnouncedDiscovery implements Discovery {
    private static final System.Logger LOG = System.getLogger(AnnouncedDiscovery.class.getName());
    /** Announcements per timeout: a worker may miss two before it is dropped. */
    static final int ANNOUNCEMENTS_PER_TIMEOUT = 3;

    private final Duration timeout;
    private final Duration interval;
    /** Worker → System.nanoTime() of its last announcement. */
    private final Map<WorkerEndpoint, Long> lastSeen = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "baton-registry");
        t.setDaemon(true);
        return t;
    });
    private final Server server;

    private AnnouncedDiscovery(InetSocketAddress bind, Duration timeout) {
        if (timeout.toMillis() < ANNOUNCEMENTS_PER_TIMEOUT) throw new IllegalArgumentException("worker timeout must be at least 3 ms, got " + timeout);
        this.timeout = timeout;
        this.interval = timeout.dividedBy(ANNOUNCEMENTS_PER_TIMEOUT);
        this.server = NettyServerBuilder.forAddress(bind, InsecureServerCredentials.create()).addService(new Service()).build();
    }

    /** Listens for announcements on {@code host:port} (0: any free port). */
    public static AnnouncedDiscovery start(String host, int port, Duration timeout) {
        AnnouncedDiscovery d = new AnnouncedDiscovery(new InetSocketAddress(host, port), timeout);
        try {
            d.server.start();
        } catch (IOException e) {
            d.thread.shutdownNow();
            throw new UncheckedIOException("cannot listen for worker announcements on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        long sweep = Math.max(1, timeout.toMillis() / 4);
        d.thread.scheduleWithFixedDelay(d::sweep, sweep, sweep, TimeUnit.MILLISECONDS);
        return d;
    }

    public int port() {
        return server.getPort();
    }

    public Duration timeout() {
        return timeout;
    }

    public Duration interval() {
        return interval;
    }

    @Override
    public List<WorkerEndpoint> workers() {
        return List.copyOf(lastSeen.keySet());
    }

    @Override
    public AutoCloseable subscribe(Listener listener) {
        thread.execute(() -> {
            for (WorkerEndpoint w : lastSeen.keySet()) listener.added(w);
            listeners.add(listener);
        });
        return () -> listeners.remove(listener);
    }

    private void sweep() {
        long now = System.nanoTime();
        List<WorkerEndpoint> gone = new ArrayList<>();
        lastSeen.forEach((w, t) -> {
            if (now - t > timeout.toNanos()) gone.add(w);
        });
        for (WorkerEndpoint w : gone) {
            Long t = lastSeen.get(w);
            if (t == null || now - t <= timeout.toNanos() || !lastSeen.remove(w, t)) continue; // announced meanwhile
            LOG.log(System.Logger.Level.WARNING, "worker " + w + " stopped announcing itself: dropping it");
            for (Listener l : listeners) l.removed(w);
        }
    }

    @Override
    public void close() {
        server.shutdownNow();
        thread.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class Service extends RegistryGrpc.RegistryImplBase {
        @Override
        public void announce(Announcement a, StreamObserver<AnnounceReply> response) {
            WorkerEndpoint w;
            try {
                w = new WorkerEndpoint(a.getHost(), a.getPort());
            } catch (IllegalArgumentException e) {
                response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            if (lastSeen.put(w, System.nanoTime()) == null) {
                LOG.log(System.Logger.Level.INFO, "worker " + w + " announced itself");
                thread.execute(() -> {
                    if (lastSeen.containsKey(w)) for (Listener l : listeners) l.added(w);
                });
            }
            response.onNext(AnnounceReply.newBuilder().setIntervalMillis(interval.toMillis()).setTimeoutMillis(timeout.toMillis()).build());
            response.onCompleted();
        }
    }
}
