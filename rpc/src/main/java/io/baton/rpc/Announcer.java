package io.baton.rpc;

import io.baton.rpc.proto.AnnounceReply;
import io.baton.rpc.proto.Announcement;
import io.baton.rpc.proto.RegistryGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A worker's side of announcements (registry.proto): tells the router at {@code --router} where this worker listens,
 * at once and then at the interval the router asks for, so that the router adds it and keeps it. Announcing goes on
 * while the router is unreachable (a router that starts later, or restarts, learns of the worker at the next one).
 */
public final class Announcer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Announcer.class.getName());
    /** Interval before the router has answered (and while it does not). */
    static final Duration FIRST_INTERVAL = Duration.ofSeconds(1);

    private final WorkerEndpoint router;
    private final Announcement announcement;
    private final ManagedChannel channel;
    private final RegistryGrpc.RegistryBlockingStub stub;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "baton-announcer");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean registered;

    private Announcer(WorkerEndpoint router, WorkerEndpoint self) {
        this.router = router;
        this.announcement = Announcement.newBuilder().setHost(self.host()).setPort(self.port()).build();
        this.channel = NettyChannelBuilder.forAddress(router.host(), router.port()).usePlaintext().build();
        this.stub = RegistryGrpc.newBlockingStub(channel);
    }

    /** Starts announcing {@code self} to the registry at {@code router}. */
    public static Announcer start(WorkerEndpoint router, WorkerEndpoint self) {
        Announcer a = new Announcer(router, self);
        a.thread.execute(a::announce);
        return a;
    }

    /** Whether the router answered the last announcement. */
    public boolean registered() {
        return registered;
    }

    private void announce() {
        Duration next = FIRST_INTERVAL;
        try {
            AnnounceReply r = stub.withDeadlineAfter(FIRST_INTERVAL.toMillis(), TimeUnit.MILLISECONDS).announce(announcement);
            if (!registered) LOG.log(System.Logger.Level.INFO, "announced to router " + router);
            registered = true;
            if (r.getIntervalMillis() > 0) next = Duration.ofMillis(r.getIntervalMillis());
        } catch (StatusRuntimeException e) {
            if (registered) LOG.log(System.Logger.Level.WARNING, "router " + router + " did not take the announcement: " + e.getStatus());
            registered = false;
        }
        try {
            thread.schedule(this::announce, next.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closed meanwhile
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
        channel.shutdownNow();
    }
}
