package io.baton.router.bench;

import io.baton.engine.kv.KvEvent;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.sampling.FinishReason;
import io.baton.router.WorkerClient;
import io.baton.router.WorkerInfo;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * A colocated worker without a model, for measuring the router alone ({@code baton bench router}, docs/bench.md).
 * Every request gets exactly {@code max_tokens} tokens, handed to the router from this worker's own timer thread, as an
 * engine loop hands over its tokens from its own thread. Two schedules:
 * <ul>
 *   <li>per stream (default): the first token {@code ttft} after the request was submitted, then one every {@code itl}
 *       (deadlines from the submit time, so lateness never accumulates): every stream has its own phase;</li>
 *   <li>batched: decode steps every {@code itl} (the first at {@code phase}); each step hands over, in one burst, the
 *       next token of every running request whose {@code ttft} has passed, as a decode batch does.</li>
 * </ul>
 *
 * <p>Each token's text names itself: {@code SEQ:K:NANOS;} where {@code SEQ} numbers the request (unique among the
 * workers sharing one counter), {@code K} is the token's index from 0, and {@code NANOS} is {@link System#nanoTime()}
 * read just before the token was handed to the router ({@link OutputListener#onToken}). The benchmark client
 * (bench module, {@code RouterOverhead}) parses it back and subtracts it from the token's arrival time.
 */
public final class ScriptedWorkerClient implements WorkerClient {
    private static final System.Logger LOG = System.getLogger(ScriptedWorkerClient.class.getName());
    /** Name prefix of the timer threads (CPU accounting tells them apart by it). */
    public static final String THREAD_PREFIX = "scripted-worker-";
    /** KV blocks it claims to have free: it holds no KV, so routing and admission never see it full. */
    static final int FREE_BLOCKS = 1 << 20;

    private final String id;
    private final long ttftNanos, itlNanos;
    private final boolean batched;
    /** Batched: the requests of the running batch in submission order; touched on the timer thread only. */
    private final java.util.List<Emission> batch = new java.util.ArrayList<>();
    private final AtomicLong sequence;
    private final ScheduledThreadPoolExecutor timer;
    private final Map<String, Emission> running = new ConcurrentHashMap<>();
    private final LongAdder tokens = new LongAdder(), requests = new LongAdder();
    private volatile boolean closed;

    /** A worker with the per-stream schedule. */
    public ScriptedWorkerClient(String id, double ttftMillis, double itlMillis, AtomicLong sequence) {
        this(id, ttftMillis, itlMillis, false, 0, sequence);
    }

    /**
     * @param batched     hand tokens over in decode steps (see the class comment) instead of on each stream's own phase
     * @param phaseMillis batched: when the first step comes, from now (give workers different phases)
     * @param sequence    numbers the requests; share one between the workers of a benchmark so that numbers are unique
     */
    public ScriptedWorkerClient(String id, double ttftMillis, double itlMillis, boolean batched, double phaseMillis, AtomicLong sequence) {
        if (!(ttftMillis >= 0) || !(itlMillis > 0) || !(phaseMillis >= 0)) {
            throw new IllegalArgumentException("a scripted worker needs ttft >= 0 ms, itl > 0 ms and phase >= 0 ms, got "
                    + ttftMillis + ", " + itlMillis + " and " + phaseMillis);
        }
        this.id = id;
        this.ttftNanos = Math.round(ttftMillis * 1e6);
        this.itlNanos = Math.round(itlMillis * 1e6);
        this.batched = batched;
        this.sequence = sequence;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name(THREAD_PREFIX + id).unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
        if (batched) timer.scheduleAtFixedRate(this::step, Math.round(phaseMillis * 1e6), itlNanos, TimeUnit.NANOSECONDS);
    }

    /** The text of token {@code k} of request {@code seq}, handed over at {@code nanos} (see the class comment). */
    public static String text(long seq, int k, long nanos) {
        return seq + ":" + k + ":" + nanos + ";";
    }

    /** Tokens handed to the router so far. */
    public long tokensEmitted() {
        return tokens.sum();
    }

    /** Requests submitted so far. */
    public long requestsSubmitted() {
        return requests.sum();
    }

    @Override
    public WorkerInfo info() {
        int n = running.size();
        // No prefill backlog: its first tokens come after ttft however many requests wait, so admission control's
        // prediction (backlog / measured speed) must not grow with the number of streams.
        return new WorkerInfo(id, Role.COLOCATED, !closed, n, 0, n, FREE_BLOCKS, KvLayout.DEFAULT_BLOCK_SIZE, 0);
    }

    @Override
    public CompletionStage<WorkerInfo> refreshInfo() {
        return CompletableFuture.completedFuture(info());
    }

    @Override
    public void submit(GenerationRequest request, OutputListener listener) {
        if (closed) throw new IllegalStateException("scripted worker " + id + " is closed");
        Emission e = new Emission(request.id(), sequence.getAndIncrement(), request.params().maxTokens(),
                request.promptTokens().length, listener, System.nanoTime());
        if (running.putIfAbsent(e.requestId, e) != null) throw new IllegalArgumentException("request " + e.requestId + " is already running");
        requests.increment();
        if (batched) timer.execute(() -> batch.add(e));
        else timer.schedule(e, ttftNanos, TimeUnit.NANOSECONDS);
    }

    /** Batched: one decode step, on the timer thread. */
    private void step() {
        long now = System.nanoTime();
        for (int i = 0; i < batch.size(); ) {
            Emission e = batch.get(i);
            if (!e.ended && now - e.submitNanos >= ttftNanos) e.emitGuarded();
            if (e.ended) batch.remove(i);
            else i++;
        }
    }

    @Override
    public void abort(String requestId) {
        Emission e = running.get(requestId);
        if (e == null || closed) return;
        try {
            timer.execute(() -> e.end(FinishReason.ABORT));
        } catch (java.util.concurrent.RejectedExecutionException closedMeanwhile) {
            // Closed: nothing runs any more.
        }
    }

    /** It has no KV cache, so no events. */
    @Override
    public AutoCloseable subscribeKvEvents(Consumer<KvEvent> subscriber) {
        return () -> { };
    }

    @Override
    public CompletionStage<Optional<byte[]>> reserve(GenerationRequest request, OutputListener listener) {
        throw new UnsupportedOperationException("scripted worker " + id + " is colocated: it takes no decode reservations");
    }

    @Override
    public void submitPrefill(GenerationRequest request, byte[] grant, OutputListener listener) {
        throw new UnsupportedOperationException("scripted worker " + id + " is colocated: it takes no prefill-only requests");
    }

    @Override
    public void firstToken(String requestId, int token) {
        throw new UnsupportedOperationException("scripted worker " + id + " is colocated: it takes no first tokens");
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
    }

    /** One request's tokens. Runs on the timer thread only (one thread), so its fields need no locking. */
    private final class Emission implements Runnable {
        final String requestId;
        final long seq;
        final int count, promptTokens;
        final OutputListener listener;
        final long submitNanos;
        int next;
        boolean ended;
        /** The next token's task (null before the first token: that one is let run and sees {@link #ended}). */
        ScheduledFuture<?> pending;

        Emission(String requestId, long seq, int count, int promptTokens, OutputListener listener, long submitNanos) {
            this.requestId = requestId;
            this.seq = seq;
            this.count = count;
            this.promptTokens = promptTokens;
            this.listener = listener;
            this.submitNanos = submitNanos;
        }

        /** Per-stream schedule: this token, then the next one at its deadline. */
        @Override
        public void run() {
            if (ended) return;
            emitGuarded();
            if (ended) return;
            long due = submitNanos + ttftNanos + next * itlNanos;
            pending = timer.schedule(this, due - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        /** Hands the next token over (stamped with the time just before), and ends the request after its last. */
        void emit() {
            int k = next++;
            long now = System.nanoTime();
            listener.onToken(k, text(seq, k, now));
            tokens.increment();
            if (next == count) end(FinishReason.LENGTH);
        }

        /**
         * {@link #emit} that survives a throwing listener: the request is dropped (not the step loop, which a
         * periodic task's exception would stop for good).
         */
        void emitGuarded() {
            try {
                emit();
            } catch (RuntimeException ex) {
                ended = true;
                running.remove(requestId);
                LOG.log(System.Logger.Level.WARNING, "scripted worker " + id + ": request " + requestId + " dropped, its listener threw", ex);
            }
        }

        void end(FinishReason reason) {
            if (ended) return;
            ended = true;
            running.remove(requestId);
            if (pending != null) pending.cancel(false);
            listener.onFinish(reason, "", promptTokens, next);
        }
    }
}
