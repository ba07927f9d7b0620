package io.baton.rpc;

import java.util.List;

/** A fixed list of workers ({@code baton router --workers HOST:PORT,...}): nobody joins or leaves. */
public final class StaticDiscovery implements Discovery {
    private final List<WorkerEndpoint> workers;

    public StaticDiscovery(List<WorkerEndpoint> workers) {
        this.workers = List.copyOf(workers);
    }

    @Override
    public List<WorkerEndpoint> workers() {
        return workers;
    }

    @Override
    public AutoCloseable subscribe(Listener listener) {
        for (WorkerEndpoint w : workers) listener.added(w);
        return () -> { };
    }

    @Override
    public void close() {
    }
}
