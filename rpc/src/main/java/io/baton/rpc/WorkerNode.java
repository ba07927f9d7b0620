package io.baton.rpc;

import io.baton.engine.Model;
import io.baton.engine.kv.KvLayout;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.TcpKvTransport;
import io.baton.worker.EngineLoop;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * {@code baton worker}: one engine in one role, reachable by a router over gRPC ({@link GrpcWorkerServer}), its KV
 * handed over through the TCP data plane of the KV-transfer code (a decode worker listens on {@code --kv-port}; a
 * prefill worker connects to the address in each grant). With a router address it announces itself
 * ({@link Announcer}).
 */
public final class WorkerNode implements AutoCloseable {
    /**
     * @param host          address of the control RPC and of the KV data plane; routers and prefill workers dial it, so
     *                      it must be reachable from them (not a wildcard address for a decode worker)
     * @param port          control RPC port; 0 picks a free one
     * @param kvPort        KV data-plane port of a decode worker; 0 picks a free one (grants carry it)
     * @param kvMemoryBytes KV cache memory; 0 for the default
     * @param router        the router's registration address to announce to, or null
     */
    public record Options(Path model, Role role, String host, int port, int kvPort, int threads, long kvMemoryBytes,
                          WorkerEndpoint router) {
        public Options {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
            if (kvPort < 0 || kvPort > 65535) throw new IllegalArgumentException("KV port must be in [0, 65535], got " + kvPort);
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            if (kvMemoryBytes < 0) throw new IllegalArgumentException("KV memory must be >= 0 bytes (0 = default), got " + kvMemoryBytes);
            if (host == null || host.isBlank()) throw new IllegalArgumentException("host must not be blank");
        }
    }

    private final Model model;
    private final KvTransport transport;
    private final EngineLoop loop;
    private final GrpcWorkerServer server;
    private final Announcer announcer;
    private final WorkerEndpoint endpoint;

    private WorkerNode(Model model, KvTransport transport, EngineLoop loop, GrpcWorkerServer server, Announcer announcer, WorkerEndpoint endpoint) {
        this.model = model;
        this.transport = transport;
        this.loop = loop;
        this.server = server;
        this.announcer = announcer;
        this.endpoint = endpoint;
    }

    /** Loads the model and starts serving; returns once the control port is bound. */
    public static WorkerNode start(Options o) {
        Model m = Model.load(o.model(), o.threads());
        KvTransport transport = null;
        EngineLoop loop = null;
        GrpcWorkerServer server = null;
        try {
            KvLayout layout = KvLayout.of(m.config());
            int blocks = io.baton.worker.KvBudget.blocks(layout, m.config().contextLength(), o.kvMemoryBytes());
            if (o.role() != Role.COLOCATED) transport = new TcpKvTransport(new InetSocketAddress(o.host(), o.kvPort()));
            loop = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(o.role()), layout, blocks, transport);
            // The fingerprint the KV transfer checks: the router compares it with its own model's too.
            byte[] fp = ModelFingerprint.of(m.config(), m.gguf()).toBytes();
            // A decode worker measures its prefill speed (before its loop runs anything): the router sets the
            // conditional-disaggregation threshold of the requests it sends here from it.
            double speed = o.role() == Role.DECODE ? io.baton.worker.PrefillProbe.tokensPerSecond(m) : 0;
            server = GrpcWorkerServer.start(loop, new GrpcWorkerServer.Identity(o.model().toAbsolutePath().toString(), fp,
                    m.config().contextLength(), speed), o.host(), o.port());
            WorkerEndpoint self = new WorkerEndpoint(o.host(), server.port());
            Announcer announcer = o.router() == null ? null : Announcer.start(o.router(), self);
            return new WorkerNode(m, transport, loop, server, announcer, self);
        } catch (RuntimeException e) {
            if (server != null) server.close();
            if (loop != null) loop.close();
            if (transport != null) transport.close();
            m.close();
            throw e;
        }
    }


    /** Where the control RPC listens ({@code HOST:PORT}, the actual port). */
    public WorkerEndpoint endpoint() {
        return endpoint;
    }

    public Role role() {
        return loop.role();
    }

    public EngineLoop loop() {
        return loop;
    }

    @Override
    public void close() {
        if (announcer != null) announcer.close();
        server.close();
        loop.close();
        if (transport != null) transport.close();
        model.close();
    }
}
