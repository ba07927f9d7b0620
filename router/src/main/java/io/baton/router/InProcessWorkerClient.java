package io.baton.router;


import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.KvEvent;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Scheduler;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A worker in the router's JVM: calls go straight to its {@link EngineLoop}. Load numbers are read on the loop thread
 * (the scheduler is single-threaded) at every output event and on {@link #refreshInfo()}, and published as an
 * immutable snapshot.
 */
public final class InProcessWorkerClient implements WorkerClient {
    private final String id;
    private final EngineLoop loop;
    private final boolean ownsLoop;
    private final AtomicLong queuedPrefillTokens = new AtomicLong();
    /** Requests submitted whose first token has not come back: id → prompt length (for the prefill backlog). */
    private final Map<String, Integer> awaitingFirstToken = new ConcurrentHashMap<>();
    private volatile WorkerInfo snapshot;
    private volatile boolean closed;
    private final double prefillTokensPerSecond;

    /**
     * @param ownsLoop whether {@link #close()} closes the loop too
     */
    public InProcessWorkerClient(String id, EngineLoop loop, boolean ownsLoop) {
        this(id, loop, ownsLoop, 0);
    }

    /**
     * @param ownsLoop               whether {@link #close()} closes the loop too
     * @param prefillTokensPerSecond the engine's measured prefill speed ({@code PrefillProbe}), reported in
     *                               {@link WorkerInfo}; 0 when not measured
     */
    public InProcessWorkerClient(String id, EngineLoop loop, boolean ownsLoop, double prefillTokensPerSecond) {
        this.id = id;
        this.prefillTokensPerSecond = prefillTokensPerSecond;
        this.loop = loop;
        this.ownsLoop = ownsLoop;
        Scheduler s = loop.scheduler();
        BlockPool pool = s.kv().pool();
        // Before the loop has run anything its state is the empty pool; read once here, then only on the loop thread.
        this.snapshot = new WorkerInfo(id, s.config().role(), true, 0, 0, 0, pool.numBlocks(), pool.blockSize(), 0, prefillTokensPerSecond);
    }

    public String id() {
        return id;
    }

    @Override
    public WorkerInfo info() {
        // Load from the last snapshot; liveness and the prefill backlog are always current.
        WorkerInfo s = snapshot;
        return new WorkerInfo(s.id(), s.role(), !closed && loop.failure() == null, s.running(), s.waiting(), s.kvBlocksUsed(),
                s.kvBlocksFree(), s.blockSize(), queuedPrefillTokens.get(), prefillTokensPerSecond);
    }

    @Override
    public CompletionStage<WorkerInfo> refreshInfo() {
        CompletableFuture<WorkerInfo> f = new CompletableFuture<>();
        try {
            loop.command(() -> f.complete(takeSnapshot()));
        } catch (IllegalStateException closedLoop) {
            f.complete(info());
        }
        return f;
    }

    /** On the loop thread only. */
    private WorkerInfo takeSnapshot() {
        Scheduler s = loop.scheduler();
        WorkerInfo w = new WorkerInfo(id, s.config().role(), !closed && loop.failure() == null, s.numRunning(), s.numWaiting(),
                s.kv().usedBlocks(), s.kv().freeBlocks(), s.kv().pool().blockSize(), queuedPrefillTokens.get(), prefillTokensPerSecond);
        snapshot = w;
        return w;
    }

    @Override
    public void submit(GenerationRequest request, OutputListener listener) {
        start(request, listener, l -> loop.submit(request, l));
    }

    @Override
    public void submitPrefill(GenerationRequest request, byte[] grant, OutputListener listener) {
        start(request, listener, l -> loop.submitPrefill(request, grant, l));
    }

    @Override
    public CompletionStage<java.util.Optional<byte[]>> reserve(GenerationRequest request, OutputListener listener) {
        return loop.reserveEncoded(request, tracking(request.id(), listener));
    }

    @Override
    public void firstToken(String requestId, int token) {
        loop.firstToken(requestId, token);
    }

    /** Starts a request that this worker prefills, counting its prompt in the prefill backlog until its first token. */
    private void start(GenerationRequest request, OutputListener listener, java.util.function.Consumer<OutputListener> submit) {
        String rid = request.id();
        int promptLength = request.promptTokens().length;
        awaitingFirstToken.put(rid, promptLength);
        queuedPrefillTokens.addAndGet(promptLength);
        try {
            submit.accept(tracking(rid, listener));
        } catch (RuntimeException e) {
            firstTokenSeen(rid);
            throw e;
        }
    }

    /** Wraps a listener so that load snapshots follow every output event. */
    private OutputListener tracking(String rid, OutputListener listener) {
        return new OutputListener() {
            @Override
            public void onToken(int token, String text) {
                onToken(token, text, null);
            }

            @Override
            public void onToken(int token, String text, TokenLogprobs logprobs) {
                firstTokenSeen(rid);
                takeSnapshot();
                listener.onToken(token, text, logprobs);
            }

            @Override
            public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                firstTokenSeen(rid);
                takeSnapshot();
                listener.onFinish(reason, text, promptTokens, completionTokens);
            }

            @Override
            public void onError(String message) {
                firstTokenSeen(rid);
                takeSnapshot();
                listener.onError(message);
            }
        };
    }

    private void firstTokenSeen(String rid) {
        Integer n = awaitingFirstToken.remove(rid);
        if (n != null) queuedPrefillTokens.addAndGet(-n);
    }

    @Override
    public void abort(String requestId) {
        if (closed) return;
        try {
            loop.abort(requestId);
        } catch (IllegalStateException closedLoop) {
            // The loop is gone and its requests with it.
        }
    }

    @Override
    public AutoCloseable subscribeKvEvents(Consumer<KvEvent> subscriber) {
        // BlockPool's subscriber list is copy-on-write, so subscribing from this thread is safe; events then come on
        // the loop thread.
        return loop.scheduler().kv().pool().subscribe(subscriber);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (ownsLoop) loop.close();
    }
}
