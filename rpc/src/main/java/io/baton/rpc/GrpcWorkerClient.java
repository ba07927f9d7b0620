package io.baton.rpc;

import com.google.protobuf.ByteString;
import io.baton.engine.kv.KvEvent;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.rpc.proto.AbortRequest;
import io.baton.rpc.proto.Ack;
import io.baton.rpc.proto.FirstTokenRequest;
import io.baton.rpc.proto.InfoRequest;
import io.baton.rpc.proto.KvEventMessage;
import io.baton.rpc.proto.KvEventsRequest;
import io.baton.rpc.proto.OutputEvent;
import io.baton.rpc.proto.SubmitPrefillRequest;
import io.baton.rpc.proto.SubmitRequest;
import io.baton.rpc.proto.WorkerGrpc;
import io.baton.rpc.proto.WorkerStatus;
import io.baton.router.WorkerClient;
import io.baton.router.WorkerInfo;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A worker in another process, seen from the router through its {@code Worker} service (worker.proto).
 *
 * <p>Requests: each runs on one server-streaming call ({@code Submit}, {@code SubmitPrefill}, {@code Reserve}); the
 * stream's events go to the request's listener, on gRPC's executor threads. {@link #abort} cancels the call, which the
 * worker sees within milliseconds and answers by aborting the request and freeing its blocks; the listener gets its
 * abort finish from here at once. When no call is open (a prefill worker's stream ends at the first token while it
 * still pushes the KV), {@link #abort} sends the unary {@code Abort} instead.
 *
 * <p>Liveness: every {@link Options#pollInterval()} an {@code Info} probe (answered from the worker's last snapshot,
 * never waiting for its engine) refreshes the load numbers. A worker that has not answered for
 * {@link Options#timeout()} is down: routing skips it, and the {@code onDead} callback tells the owner (who removes it
 * from the router and closes it; closing fails the requests still on it).
 */
public final class GrpcWorkerClient implements WorkerClient {
    private static final System.Logger LOG = System.getLogger(GrpcWorkerClient.class.getName());

    /**
     * @param deadline     deadline of unary calls ({@code Info}, {@code FirstToken}, {@code Abort}) and of a
     *                     {@code Reserve}'s grant
     * @param pollInterval time between two liveness/load probes
     * @param timeout      a worker silent this long is down
     */
    public record Options(Duration deadline, Duration pollInterval, Duration timeout) {
        public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(5);
        public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(250);
        /** 3 s: a dozen missed probes; long enough for a JVM's garbage-collection pause, short for a client waiting. */
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);

        public Options {
            if (deadline.isNegative() || deadline.isZero()) throw new IllegalArgumentException("RPC deadline must be > 0, got " + deadline);
            if (pollInterval.isNegative() || pollInterval.isZero()) throw new IllegalArgumentException("poll interval must be > 0, got " + pollInterval);
            if (timeout.compareTo(pollInterval) < 0) {
                throw new IllegalArgumentException("worker timeout (" + timeout + ") must be at least the poll interval (" + pollInterval + ")");
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_DEADLINE, DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT);
        }

        /** The defaults with another timeout (and probes at a quarter of it, at most every 250 ms). */
        public static Options withTimeout(Duration timeout) {
            Duration poll = timeout.dividedBy(4).compareTo(DEFAULT_POLL_INTERVAL) < 0 ? timeout.dividedBy(4) : DEFAULT_POLL_INTERVAL;
            return new Options(DEFAULT_DEADLINE, poll.isZero() ? Duration.ofMillis(1) : poll, timeout);
        }
    }

    private final WorkerEndpoint endpoint;
    private final String id;
    private final Options options;
    private final ManagedChannel channel;
    private final WorkerGrpc.WorkerStub stub;
    private final ScheduledExecutorService timer;
    private final Consumer<GrpcWorkerClient> onDead;
    private final Map<String, Call> calls = new ConcurrentHashMap<>();
    /** This router's requests whose first token has not come back: id → prompt length (fresher than the worker's number). */
    private final Map<String, Integer> awaitingFirstToken = new ConcurrentHashMap<>();
    private final AtomicLong localPrefillBacklog = new AtomicLong();
    private final AtomicBoolean dead = new AtomicBoolean();
    private volatile WorkerStatus status;
    private volatile long lastAnswerNanos;
    private volatile boolean closed;
    private volatile ScheduledFuture<?> poller;

    private GrpcWorkerClient(WorkerEndpoint endpoint, Options options, ManagedChannel channel, ScheduledExecutorService timer,
                             Consumer<GrpcWorkerClient> onDead, WorkerStatus first) {
        this.endpoint = endpoint;
        this.id = endpoint.toString();
        this.options = options;
        this.channel = channel;
        this.stub = WorkerGrpc.newStub(channel);
        this.timer = timer;
        this.onDead = onDead;
        this.status = first;
        this.lastAnswerNanos = System.nanoTime();
    }

    /**
     * Connects to the worker at {@code endpoint}: completes once it has answered a first {@code Info} (its role, model,
     * block size), or exceptionally when it did not answer within the deadline.
     *
     * @param timer  runs the probes (shared by all clients of a router)
     * @param onDead called once, on {@code timer}'s thread, when the worker has been silent for the timeout
     */
    public static CompletableFuture<GrpcWorkerClient> connect(WorkerEndpoint endpoint, Options options, ScheduledExecutorService timer,
                                                              Consumer<GrpcWorkerClient> onDead) {
        ManagedChannel ch = NettyChannelBuilder.forAddress(endpoint.host(), endpoint.port()).usePlaintext().build();
        CompletableFuture<GrpcWorkerClient> f = new CompletableFuture<>();
        WorkerGrpc.newStub(ch).withDeadlineAfter(options.deadline().toMillis(), TimeUnit.MILLISECONDS)
                .info(InfoRequest.newBuilder().setFresh(true).build(), unary(s -> {
                    GrpcWorkerClient c = new GrpcWorkerClient(endpoint, options, ch, timer, onDead, s);
                    c.poller = timer.scheduleWithFixedDelay(c::probe, options.pollInterval().toMillis(), options.pollInterval().toMillis(),
                            TimeUnit.MILLISECONDS);
                    f.complete(c);
                }, t -> {
                    ch.shutdownNow();
                    f.completeExceptionally(new IllegalStateException("worker " + endpoint + " did not answer: " + describe(t), t));
                }));
        return f;
    }

    public WorkerEndpoint endpoint() {
        return endpoint;
    }

    /** The worker's own report at its last answer (model path and fingerprint, context length, ...). */
    public WorkerStatus status() {
        return status;
    }

    /** Whether the worker has stopped answering (final: a worker that comes back gets a new client). */
    public boolean isDead() {
        return dead.get();
    }

    private void probe() {
        if (closed || dead.get()) return;
        long deadlineMs = Math.min(options.deadline().toMillis(), options.timeout().toMillis());
        stub.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS).info(InfoRequest.getDefaultInstance(), unary(s -> {
            status = s;
            lastAnswerNanos = System.nanoTime();
        }, t -> LOG.log(System.Logger.Level.DEBUG, () -> "worker " + id + " probe failed: " + describe(t))));
        if (System.nanoTime() - lastAnswerNanos > options.timeout().toNanos() && dead.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "worker " + id + " has not answered for " + options.timeout().toMillis() + " ms: dropping it");
            if (poller != null) poller.cancel(false);
            onDead.accept(this);
        }
    }

    @Override
    public WorkerInfo info() {
        WorkerStatus s = status;
        boolean up = s.getUp() && !dead.get() && !closed;
        long backlog = Math.max(s.getQueuedPrefillTokens(), localPrefillBacklog.get());
        return new WorkerInfo(id, Wire.role(s.getRole()), up, s.getRunning(), s.getWaiting(), s.getKvBlocksUsed(), s.getKvBlocksFree(),
                s.getBlockSize(), backlog, s.getPrefillTokensPerSecond());
    }

    @Override
    public CompletionStage<WorkerInfo> refreshInfo() {
        CompletableFuture<WorkerInfo> f = new CompletableFuture<>();
        if (closed) {
            f.complete(info());
            return f;
        }
        stub.withDeadlineAfter(options.deadline().toMillis(), TimeUnit.MILLISECONDS).info(InfoRequest.newBuilder().setFresh(true).build(),
                unary(s -> {
                    status = s;
                    lastAnswerNanos = System.nanoTime();
                    f.complete(info());
                }, t -> f.complete(info())));
        return f;
    }

    /** As the worker's engine would refuse it (EngineLoop's check): a prompt that can never fit. */
    private void check(GenerationRequest r) {
        WorkerStatus s = status;
        int n = r.promptTokens().length;
        if (n >= s.getContextLength()) {
            throw new IllegalArgumentException("prompt of " + n + " tokens does not fit the context length of " + s.getContextLength() + " tokens");
        }
        if (n + 1 > s.getKvCapacityTokens()) {
            throw new IllegalArgumentException("prompt of " + n + " tokens does not fit in the KV memory of " + s.getKvCapacityTokens() + " tokens");
        }
        if (closed || dead.get()) throw new IllegalStateException("worker " + id + " is not available");
    }

    @Override
    public void submit(GenerationRequest request, OutputListener listener) {
        check(request);
        Call c = open(request, listener, Kind.SUBMIT);
        stub.submit(Wire.request(request), c);
    }

    @Override
    public void submitPrefill(GenerationRequest request, byte[] grant, OutputListener listener) {
        check(request);
        Call c = open(request, listener, Kind.PREFILL);
        stub.submitPrefill(SubmitPrefillRequest.newBuilder().setRequest(Wire.request(request)).setGrant(ByteString.copyFrom(grant)).build(), c);
    }

    @Override
    public CompletionStage<Optional<byte[]>> reserve(GenerationRequest request, OutputListener listener) {
        check(request);
        Call c = open(request, listener, Kind.RESERVE);
        stub.reserve(Wire.request(request), c);
        // A grant that does not come in time fails the reservation (and cancels it, which frees what it may hold).
        ScheduledFuture<?> t = timer.schedule(() -> c.fail("no KV grant from worker " + id + " within " + options.deadline().toMillis() + " ms"),
                options.deadline().toMillis(), TimeUnit.MILLISECONDS);
        c.grant.whenComplete((g, e) -> t.cancel(false));
        return c.grant;
    }

    @Override
    public void firstToken(String requestId, int token) {
        stub.withDeadlineAfter(options.deadline().toMillis(), TimeUnit.MILLISECONDS)
                .firstToken(FirstTokenRequest.newBuilder().setId(requestId).setToken(token).build(), unary(a -> { }, t -> {
                    // Without its first token the decode worker would hold the request forever: fail it.
                    Call c = calls.get(requestId);
                    if (c != null) c.fail("handing the first token to worker " + id + " failed: " + describe(t));
                }));
    }

    @Override
    public void abort(String requestId) {
        Call c = calls.get(requestId);
        if (c != null && c.abort()) return;
        if (closed) return;
        stub.withDeadlineAfter(options.deadline().toMillis(), TimeUnit.MILLISECONDS).abort(AbortRequest.newBuilder().setId(requestId).build(),
                unary(a -> { }, t -> LOG.log(System.Logger.Level.DEBUG, () -> "abort of " + requestId + " on " + id + " failed: " + describe(t))));
    }

    @Override
    public AutoCloseable subscribeKvEvents(Consumer<KvEvent> subscriber) {
        KvSubscription s = new KvSubscription(subscriber);
        s.open();
        return s;
    }

    /**
     * Follows the worker's {@code KvEvents} stream; when it breaks while the worker lives on, opens it again and tells
     * the subscriber to forget this worker's prefixes first (an {@link KvEvent.AllCleared} of sequence 0), since
     * events were lost in between.
     */
    private final class KvSubscription implements AutoCloseable, ClientResponseObserver<KvEventsRequest, KvEventMessage> {
        private final Consumer<KvEvent> subscriber;
        private volatile ClientCallStreamObserver<KvEventsRequest> call;
        private volatile boolean stopped;
        private volatile boolean reopened;

        KvSubscription(Consumer<KvEvent> subscriber) {
            this.subscriber = subscriber;
        }

        void open() {
            if (stopped || closed || dead.get()) return;
            stub.kvEvents(KvEventsRequest.getDefaultInstance(), this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<KvEventsRequest> c) {
            call = c;
            if (reopened) subscriber.accept(new KvEvent.AllCleared(0));
        }

        @Override
        public void onNext(KvEventMessage m) {
            try {
                subscriber.accept(Wire.event(m));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "bad KV event from worker " + id + ": " + e.getMessage());
            }
        }

        @Override
        public void onError(Throwable t) {
            if (stopped || closed || dead.get()) return;
            reopened = true;
            LOG.log(System.Logger.Level.DEBUG, () -> "KV events of worker " + id + " broke: " + describe(t) + "; reopening");
            timer.schedule(this::open, options.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void onCompleted() {
            onError(Status.UNAVAILABLE.withDescription("stream ended").asRuntimeException());
        }

        @Override
        public void close() {
            stopped = true;
            ClientCallStreamObserver<KvEventsRequest> c = call;
            if (c != null) c.cancel("unsubscribed", null);
        }
    }

    /** Stops probing, fails every request still open here, and closes the connection. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (poller != null) poller.cancel(false);
        for (Call c : List.copyOf(calls.values())) c.fail("worker " + id + (dead.get() ? " stopped answering" : " was removed"));
        channel.shutdownNow();
    }

    private Call open(GenerationRequest request, OutputListener listener, Kind kind) {
        Call c = new Call(request, listener, kind);
        if (calls.putIfAbsent(request.id(), c) != null) throw new IllegalStateException("request " + request.id() + " is already on worker " + id);
        if (kind != Kind.RESERVE) {
            awaitingFirstToken.put(request.id(), request.promptTokens().length);
            localPrefillBacklog.addAndGet(request.promptTokens().length);
        }
        return c;
    }

    private void firstTokenSeen(String rid) {
        Integer n = awaitingFirstToken.remove(rid);
        if (n != null) localPrefillBacklog.addAndGet(-n);
    }

    private enum Kind { SUBMIT, PREFILL, RESERVE }

    /**
     * One request's call: relays its events to the listener and ends the listener exactly once (finish or error). A
     * reservation ends its grant future first; until the grant, failures go to that future, not to the listener.
     *
     * <p>State changes under the call's lock; the listener and the grant's dependents run outside it, because they call
     * into other calls (a flow aborts the decode side when the prefill side fails, and the other way round) and two
     * threads doing that with locks held would deadlock. gRPC delivers one call's events one at a time, so tokens keep
     * their order; only a token racing an {@link #abort} from another thread may reach the listener after its abort
     * finish, which listeners ignore.
     */
    private final class Call implements ClientResponseObserver<SubmitRequest, OutputEvent> {
        final String rid;
        final int promptTokens;
        final OutputListener listener;
        final Kind kind;
        final CompletableFuture<Optional<byte[]>> grant = new CompletableFuture<>();
        private ClientCallStreamObserver<SubmitRequest> stream;
        private int tokens;
        private boolean ended;

        Call(GenerationRequest r, OutputListener listener, Kind kind) {
            this.rid = r.id();
            this.promptTokens = r.promptTokens().length;
            this.listener = listener;
            this.kind = kind;
        }

        @Override
        public synchronized void beforeStart(ClientCallStreamObserver<SubmitRequest> s) {
            stream = s;
        }

        @Override
        public void onNext(OutputEvent e) {
            switch (e.getEventCase()) {
                case TOKEN -> {
                    TokenLogprobs logprobs;
                    try {
                        logprobs = Wire.logprobs(e.getToken());
                    } catch (IllegalArgumentException bad) {
                        fail("bad token event from worker " + id + ": " + bad.getMessage());
                        return;
                    }
                    synchronized (this) {
                        if (ended) return;
                        tokens++;
                    }
                    firstTokenSeen(rid);
                    listener.onToken(e.getToken().getToken(), e.getToken().getText(), logprobs);
                }
                case FINISH -> {
                    if (!end()) return;
                    var f = e.getFinish();
                    listener.onFinish(Wire.finish(f.getReason()), f.getText(), f.getPromptTokens(), f.getCompletionTokens());
                }
                case ERROR -> {
                    if (end()) failed(e.getError().getMessage(), null);
                }
                case GRANT -> grant.complete(Optional.of(e.getGrant().getGrant().toByteArray()));
                case NO_ROOM -> {
                    if (end()) grant.complete(Optional.empty());
                }
                default -> fail("unexpected event from worker " + id + ": " + e.getEventCase());
            }
        }

        @Override
        public void onError(Throwable t) {
            if (end()) failed("worker " + id + ": " + describe(t), t);
        }

        @Override
        public void onCompleted() {
            boolean handedOff;
            synchronized (this) {
                // A prefill worker's stream ends after the first token: the decode worker has the request now.
                handedOff = kind == Kind.PREFILL && tokens > 0;
            }
            if (end() && !handedOff) failed("worker " + id + " ended request " + rid + " without a finish", null);
        }

        /** Marks the call ended; true for the one caller that did. */
        private boolean end() {
            synchronized (this) {
                if (ended) return false;
                ended = true;
            }
            calls.remove(rid, this);
            firstTokenSeen(rid);
            return true;
        }

        private void failed(String message, Throwable cause) {
            if (kind == Kind.RESERVE && !grant.isDone()) grant.completeExceptionally(new IllegalStateException(message, cause));
            else listener.onError(message);
        }

        private void cancel(String why) {
            ClientCallStreamObserver<SubmitRequest> s;
            synchronized (this) {
                s = stream;
            }
            if (s != null) s.cancel(why, null);
        }

        /** Cancels the call (the worker aborts the request) and gives the listener its abort finish. */
        boolean abort() {
            if (!end()) return false;
            cancel("aborted by the router");
            int n;
            synchronized (this) {
                n = tokens;
            }
            if (kind == Kind.RESERVE && !grant.isDone()) grant.completeExceptionally(new CancellationException("aborted"));
            else listener.onFinish(FinishReason.ABORT, "", promptTokens, n);
            return true;
        }

        /** Cancels the call and fails the request. */
        void fail(String message) {
            if (!end()) return;
            cancel(message);
            failed(message, null);
        }
    }

    private static String describe(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            Status st = s.getStatus();
            return st.getCode() + (st.getDescription() == null ? "" : " (" + st.getDescription() + ")");
        }
        return String.valueOf(t.getMessage());
    }

    /** A unary response observer from two lambdas. */
    private static <T> StreamObserver<T> unary(Consumer<T> ok, Consumer<Throwable> failed) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                ok.accept(value);
            }

            @Override
            public void onError(Throwable t) {
                failed.accept(t);
            }

            @Override
            public void onCompleted() {
            }
        };
    }
}
