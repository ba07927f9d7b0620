package io.baton.rpc;

import io.baton.router.Router;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a {@link Router}'s workers in step with discovery. A worker that discovery names is dialled; once it answers
 * (and serves the router's model) it joins the router. A worker that stops answering for the timeout leaves the router
 * (routing no longer picks it, {@code /health} counts without it), and is dialled again while discovery still names it,
 * so a restarted worker comes back. A worker that discovery drops leaves at once.
 *
 * <p>All state lives on one thread, the timer's: discovery's and clients' callbacks hop onto it.
 */
public final class WorkerMembership implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WorkerMembership.class.getName());

    private final Router router;
    private final byte[] modelFingerprint;
    private final GrpcWorkerClient.Options options;
    private final ScheduledExecutorService timer;
    private final List<AutoCloseable> subscriptions;
    /** Endpoints discovery names → their client once connected (null while dialling). */
    private final Map<WorkerEndpoint, GrpcWorkerClient> members = new HashMap<>();
    private boolean closed;

    /**
     * @param modelFingerprint the router's model (kvtransfer's ModelFingerprint bytes): workers serving another are refused
     * @param timer            a single-threaded executor, shared with the clients' probes
     */
    public WorkerMembership(Router router, byte[] modelFingerprint, GrpcWorkerClient.Options options, ScheduledExecutorService timer,
                            List<Discovery> discoveries) {
        this.router = router;
        this.modelFingerprint = modelFingerprint.clone();
        this.options = options;
        this.timer = timer;
        this.subscriptions = discoveries.stream().map(d -> d.subscribe(new Discovery.Listener() {
            @Override
            public void added(WorkerEndpoint w) {
                timer.execute(() -> add(w));
            }

            @Override
            public void removed(WorkerEndpoint w) {
                timer.execute(() -> remove(w));
            }
        })).toList();
    }

    private void add(WorkerEndpoint w) {
        if (closed || members.containsKey(w)) return;
        members.put(w, null);
        dial(w);
    }

    private void dial(WorkerEndpoint w) {
        if (closed || !members.containsKey(w)) return;
        GrpcWorkerClient.connect(w, options, timer, dead -> timer.execute(() -> died(dead))).whenComplete((c, e) -> timer.execute(() -> {
            if (e != null) {
                LOG.log(System.Logger.Level.DEBUG, () -> "worker " + w + " not reachable yet: " + e.getMessage());
                retry(w, options.pollInterval());
            } else {
                connected(w, c);
            }
        }));
    }

    private void retry(WorkerEndpoint w, Duration after) {
        if (closed) return;
        timer.schedule(() -> dial(w), Math.max(1, after.toMillis()), TimeUnit.MILLISECONDS);
    }

    private void connected(WorkerEndpoint w, GrpcWorkerClient c) {
        if (closed || !members.containsKey(w) || members.get(w) != null) {
            c.close();
            return;
        }
        byte[] theirs = c.status().getModelFingerprint().toByteArray();
        if (!Arrays.equals(theirs, modelFingerprint)) {
            LOG.log(System.Logger.Level.WARNING, "refusing worker " + w + ": it serves " + c.status().getModelPath() + " (fingerprint "
                    + HexFormat.of().formatHex(theirs) + "), not the router's model; trying again in " + options.timeout().toSeconds() + " s");
            c.close();
            retry(w, options.timeout());
            return;
        }
        if (c.isDead()) { // went silent between answering and now
            c.close();
            retry(w, options.pollInterval());
            return;
        }
        members.put(w, c);
        router.addWorker(c);
    }

    private void died(GrpcWorkerClient c) {
        WorkerEndpoint w = c.endpoint();
        if (members.get(w) != c) return;
        router.removeWorker(c.info().id());
        c.close();
        members.put(w, null);
        retry(w, options.pollInterval());
    }

    private void remove(WorkerEndpoint w) {
        if (!members.containsKey(w)) return;
        GrpcWorkerClient c = members.remove(w);
        if (c != null) {
            router.removeWorker(c.info().id());
            c.close();
        }
    }

    /** Stops following discovery and closes every client (failing their open requests). Blocks until done. */
    @Override
    public void close() {
        for (AutoCloseable s : subscriptions) {
            try {
                s.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, () -> "closing a discovery subscription: " + e);
            }
        }
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        try {
            timer.execute(() -> {
                closed = true;
                for (Map.Entry<WorkerEndpoint, GrpcWorkerClient> e : members.entrySet()) {
                    if (e.getValue() != null) {
                        router.removeWorker(e.getValue().info().id());
                        e.getValue().close();
                    }
                }
                members.clear();
                done.complete(null);
            });
            done.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing worker clients: " + e);
        }
    }
}
