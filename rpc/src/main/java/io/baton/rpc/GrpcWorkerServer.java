package io.baton.rpc;

import com.google.protobuf.ByteString;
import io.baton.engine.kv.BlockPool;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.rpc.proto.AbortRequest;
import io.baton.rpc.proto.Ack;
import io.baton.rpc.proto.Error;
import io.baton.rpc.proto.Finish;
import io.baton.rpc.proto.FirstTokenRequest;
import io.baton.rpc.proto.Grant;
import io.baton.rpc.proto.InfoRequest;
import io.baton.rpc.proto.KvEventMessage;
import io.baton.rpc.proto.KvEventsRequest;
import io.baton.rpc.proto.NoRoom;
import io.baton.rpc.proto.OutputEvent;
import io.baton.rpc.proto.SubmitPrefillRequest;
import io.baton.rpc.proto.SubmitRequest;
import io.baton.rpc.proto.WorkerGrpc;
import io.baton.rpc.proto.WorkerStatus;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Scheduler;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker's control plane (worker.proto's {@code Worker} service) over one {@link EngineLoop}, in the
 * {@code baton worker} process. Each request lives as long as the stream that started it: when the router cancels the
 * stream (a client left, or the router gave up on the request), the cancellation reaches this server within
 * milliseconds and the request is aborted on the loop, which frees its KV blocks.
 *
 * <p>Threads: gRPC handler threads only queue commands for the loop; output events are written to their streams from
 * the loop thread (a few microseconds each: serialize and enqueue; gRPC's transport threads do the I/O).
 */
public final class GrpcWorkerServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GrpcWorkerServer.class.getName());

    /**
     * What the worker tells about itself besides its load.
     *
     * @param modelPath        the GGUF file it serves
     * @param modelFingerprint kvtransfer's fingerprint of that model
     * @param contextLength    the model's context length in tokens
     */
    public record Identity(String modelPath, byte[] modelFingerprint, int contextLength, double prefillTokensPerSecond) {
        /** A worker whose prefill speed was not measured. */
        public Identity(String modelPath, byte[] modelFingerprint, int contextLength) {
            this(modelPath, modelFingerprint, contextLength, 0);
        }
    }

    /** Load numbers, read on the loop thread. */
    private record Load(int running, int waiting, int used, int free) {}

    private final EngineLoop loop;
    private final Identity identity;
    /** The worker's own name: its listening address. */
    private volatile String id = "";
    private final int blockSize;
    private final int kvCapacityTokens;
    private final AtomicLong queuedPrefillTokens = new AtomicLong();
    /** Requests whose prompt this worker computes and whose first token has not come: id → prompt length. */
    private final Map<String, Integer> awaitingFirstToken = new ConcurrentHashMap<>();
    private volatile Load load;
    private final Server server;

    private GrpcWorkerServer(EngineLoop loop, Identity identity, InetSocketAddress bind) {
        this.loop = loop;
        this.identity = identity;
        BlockPool pool = loop.scheduler().kv().pool();
        this.blockSize = pool.blockSize();
        this.kvCapacityTokens = pool.numBlocks() * pool.blockSize();
        this.load = new Load(0, 0, 0, pool.numBlocks());
        this.server = NettyServerBuilder.forAddress(bind, InsecureServerCredentials.create()).addService(new Service()).build();
    }

    /**
     * Serves {@code loop} on {@code host:port} (port 0: any free port); returns once the port is bound. Does not take
     * ownership of the loop.
     */
    public static GrpcWorkerServer start(EngineLoop loop, Identity identity, String host, int port) {
        GrpcWorkerServer s = new GrpcWorkerServer(loop, identity, new InetSocketAddress(host, port));
        try {
            s.server.start();
            s.id = new WorkerEndpoint(host, s.server.getPort()).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen for the worker's control RPC on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        return s;
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        // Cancels every open stream: their requests are aborted on the loop (if it still runs).
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** On the loop thread only. */
    private Load takeLoad() {
        Scheduler s = loop.scheduler();
        Load l = new Load(s.numRunning(), s.numWaiting(), s.kv().usedBlocks(), s.kv().freeBlocks());
        load = l;
        return l;
    }

    private WorkerStatus status(Load l) {
        return WorkerStatus.newBuilder().setId(id).setRole(Wire.role(loop.role())).setUp(loop.failure() == null)
                .setRunning(l.running()).setWaiting(l.waiting()).setKvBlocksUsed(l.used()).setKvBlocksFree(l.free())
                .setBlockSize(blockSize).setQueuedPrefillTokens(queuedPrefillTokens.get()).setModelPath(identity.modelPath())
                .setModelFingerprint(ByteString.copyFrom(identity.modelFingerprint())).setContextLength(identity.contextLength())
                .setKvCapacityTokens(kvCapacityTokens).setPrefillTokensPerSecond(identity.prefillTokensPerSecond()).build();
    }

    private void awaitFirstToken(String id, int promptLength) {
        if (awaitingFirstToken.putIfAbsent(id, promptLength) == null) queuedPrefillTokens.addAndGet(promptLength);
    }

    private void firstTokenSeen(String id) {
        Integer n = awaitingFirstToken.remove(id);
        if (n != null) queuedPrefillTokens.addAndGet(-n);
    }

    /** Queues an abort; a closed loop has nothing left to abort. */
    private void abortQuietly(String id) {
        try {
            loop.abort(id);
        } catch (IllegalStateException closed) {
            // the loop is gone, and its requests with it
        }
    }

    private final class Service extends WorkerGrpc.WorkerImplBase {
        @Override
        public void info(InfoRequest request, StreamObserver<WorkerStatus> response) {
            if (!request.getFresh()) {
                response.onNext(status(load));
                response.onCompleted();
                return;
            }
            try {
                loop.command(() -> {
                    response.onNext(status(takeLoad()));
                    response.onCompleted();
                });
            } catch (IllegalStateException closed) {
                response.onError(Status.UNAVAILABLE.withDescription("worker is shutting down").asRuntimeException());
            }
        }

        @Override
        public void submit(SubmitRequest request, StreamObserver<OutputEvent> response) {
            start(request, response, false, true, (r, relay) -> loop.submit(r, relay));
        }

        @Override
        public void submitPrefill(SubmitPrefillRequest request, StreamObserver<OutputEvent> response) {
            byte[] grant = request.getGrant().toByteArray();
            start(request.getRequest(), response, true, true, (r, relay) -> loop.submitPrefill(r, grant, relay));
        }

        @Override
        public void reserve(SubmitRequest request, StreamObserver<OutputEvent> response) {
            start(request, response, false, false, (r, relay) -> loop.reserveEncoded(r, relay).thenAccept(g -> {
                // Completed on the loop thread, before any token of this request can exist.
                if (g.isPresent()) {
                    relay.send(OutputEvent.newBuilder().setGrant(Grant.newBuilder().setGrant(ByteString.copyFrom(g.get()))).build());
                } else {
                    relay.end(OutputEvent.newBuilder().setNoRoom(NoRoom.getDefaultInstance()).build());
                }
            }));
        }

        /**
         * Starts a request whose lifetime is {@code response}'s stream.
         *
         * @param prefill        whether this is a prefill worker's part (the stream ends after the first token)
         * @param computesPrompt whether this worker computes the prompt (it counts in the prefill backlog until its first
         *                       token); a decode worker's reservation does not
         */
        private void start(SubmitRequest request, StreamObserver<OutputEvent> response, boolean prefill, boolean computesPrompt, Starter starter) {
            ServerCallStreamObserver<OutputEvent> call = (ServerCallStreamObserver<OutputEvent>) response;
            GenerationRequest r;
            try {
                r = Wire.request(request);
            } catch (IllegalArgumentException e) {
                call.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            String id = r.id();
            Relay relay = new Relay(call, id, prefill);
            call.setOnCancelHandler(() -> {
                relay.cancelled();
                abortQuietly(id);
            });
            if (computesPrompt) awaitFirstToken(id, r.promptTokens().length);
            try {
                starter.start(r, relay);
            } catch (IllegalArgumentException e) {
                firstTokenSeen(id);
                relay.end(OutputEvent.newBuilder().setError(Error.newBuilder().setMessage(e.getMessage()).setInvalidRequest(true)).build());
                return;
            } catch (IllegalStateException e) { // wrong role, or the loop is closing
                firstTokenSeen(id);
                call.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
                return;
            } catch (RuntimeException e) { // e.g. grant bytes that do not decode
                firstTokenSeen(id);
                relay.end(OutputEvent.newBuilder().setError(Error.newBuilder().setMessage(String.valueOf(e.getMessage())).setInvalidRequest(true)).build());
                return;
            }
            // A cancellation that came before the request was queued found nothing to abort: abort it again, after it.
            if (call.isCancelled()) abortQuietly(id);
        }

        @Override
        public void firstToken(FirstTokenRequest request, StreamObserver<Ack> response) {
            try {
                loop.firstToken(request.getId(), request.getToken());
            } catch (IllegalStateException closed) {
                response.onError(Status.UNAVAILABLE.withDescription("worker is shutting down").asRuntimeException());
                return;
            }
            response.onNext(Ack.getDefaultInstance());
            response.onCompleted();
        }

        @Override
        public void abort(AbortRequest request, StreamObserver<Ack> response) {
            abortQuietly(request.getId());
            response.onNext(Ack.getDefaultInstance());
            response.onCompleted();
        }

        @Override
        public void kvEvents(KvEventsRequest request, StreamObserver<KvEventMessage> response) {
            ServerCallStreamObserver<KvEventMessage> call = (ServerCallStreamObserver<KvEventMessage>) response;
            // Events come on the loop thread, one at a time: no two onNext calls overlap.
            BlockPool.Subscription sub = loop.scheduler().kv().pool().subscribe(e -> {
                if (call.isCancelled()) return;
                try {
                    call.onNext(Wire.event(e));
                } catch (RuntimeException gone) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "KV event stream closed: " + gone);
                }
            });
            call.setOnCancelHandler(sub::close);
            if (call.isCancelled()) sub.close();
        }
    }

    @FunctionalInterface
    private interface Starter {
        void start(GenerationRequest r, Relay relay);
    }

    /**
     * One request's output onto its stream, on the loop thread: tokens, then one end (finish, error, or no room). A
     * prefill worker's stream ends after the first token (the decode worker goes on), unless the output ended there.
     */
    private final class Relay implements OutputListener {
        private final ServerCallStreamObserver<OutputEvent> call;
        private final String id;
        private final boolean prefill;
        private boolean done;

        Relay(ServerCallStreamObserver<OutputEvent> call, String id, boolean prefill) {
            this.call = call;
            this.id = id;
            this.prefill = prefill;
        }

        synchronized void cancelled() {
            done = true;
        }

        @Override
        public void onToken(int token, String text) {
            onToken(token, text, null);
        }

        @Override
        public void onToken(int token, String text, TokenLogprobs logprobs) {
            firstTokenSeen(id);
            takeLoad();
            send(OutputEvent.newBuilder().setToken(Wire.token(token, text, logprobs)).build());
            if (prefill) {
                // The loop calls onFinish right after onToken when the output ends at this token; a command runs after
                // the current step, so by then the stream is either finished or handed over to the decode worker.
                try {
                    loop.command(this::complete);
                } catch (IllegalStateException closed) {
                    complete();
                }
            }
        }

        @Override
        public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
            firstTokenSeen(id);
            takeLoad();
            end(OutputEvent.newBuilder().setFinish(Finish.newBuilder().setReason(Wire.finish(reason)).setText(text)
                    .setPromptTokens(promptTokens).setCompletionTokens(completionTokens)).build());
        }

        @Override
        public void onError(String message) {
            firstTokenSeen(id);
            takeLoad();
            end(OutputEvent.newBuilder().setError(Error.newBuilder().setMessage(message)).build());
        }

        synchronized void send(OutputEvent e) {
            if (done) return;
            try {
                call.onNext(e);
            } catch (RuntimeException gone) { // cancelled meanwhile: the cancel handler aborts the request
                done = true;
            }
        }

        synchronized void end(OutputEvent e) {
            send(e);
            complete();
        }

        synchronized void complete() {
            if (done) return;
            done = true;
            try {
                call.onCompleted();
            } catch (RuntimeException gone) {
                // cancelled meanwhile
            }
        }
    }
}
