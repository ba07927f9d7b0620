package io.baton.rpc;

import java.util.List;

/**
 * Who the workers are: the router's one view of cluster membership. A static list ({@link StaticDiscovery}) and worker
 * announcements with heartbeats ({@link AnnouncedDiscovery}) now; etcd later, behind this same interface. Discovery
 * says where workers listen; whether one answers, and in which role, the router learns by asking it.
 */
public interface Discovery extends AutoCloseable {

    /** The workers known now. */
    List<WorkerEndpoint> workers();

    /**
     * Tells {@code listener} of every change from now on, after first calling {@link Listener#added} for each worker
     * known now. Calls come from any thread, one at a time per listener.
     *
     * @return closing it stops the calls
     */
    AutoCloseable subscribe(Listener listener);

    /** Changes in membership. */
    interface Listener {
        void added(WorkerEndpoint worker);

        void removed(WorkerEndpoint worker);
    }

    @Override
    void close();
}
