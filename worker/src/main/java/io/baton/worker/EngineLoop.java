package io.baton.worker;

import io.baton.engine.Model;
import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.KvCacheManager;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.model.SequenceChunk;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.Logprobs;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.engine.sampling.StopChecker;
import io.baton.engine.tokenizer.Tokenizer;
import io.baton.kvtransfer.KvGrant;
import io.baton.kvtransfer.KvReceiver;
import io.baton.kvtransfer.KvSender;
import io.baton.kvtransfer.LayerStreamer;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.kvtransfer.OutgoingTransfer;
import io.baton.kvtransfer.TransferFailure;
import io.baton.kvtransfer.TransferListener;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.engine.kv.BlockTable;
import io.baton.worker.scheduler.RequestStatus;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.Request;
import io.baton.worker.scheduler.ScheduledChunk;
import io.baton.worker.scheduler.Scheduler;
import io.baton.worker.scheduler.SchedulerConfig;
import io.baton.worker.scheduler.SchedulerStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A worker's engine core: one thread that repeats schedule → forward → sample → update over a continuous batch.
 * Other threads talk to it only through {@link #submit} and {@link #abort}, which queue commands for the loop; all
 * scheduler and KV-pool state is touched by the loop thread alone. When there is nothing to run the thread parks.
 *
 * <p>KV memory: one {@link KvStorage} with a {@link BlockPool} over it, sized once from a budget.
 *
 * <p>Roles ({@link Role}): a colocated loop runs requests to the end. A prefill loop ({@link #submitPrefill}) computes a
 * prompt while pushing each layer's KV to the decode worker's grant (layer-wise streaming), samples and emits the first
 * token, and frees the blocks once the decode side has acknowledged the KV. A decode loop reserves blocks and issues
 * the grant ({@link #reserve}), then admits the request once the KV has landed and the first token is known
 * ({@link #firstToken}); its listener then hears the tokens after the first.
 */
public final class EngineLoop implements AutoCloseable {
    private final Model model;
    private final Tokenizer tokenizer;
    private final Set<Integer> endOfGeneration;
    private final KvStorage storage;
    private final Scheduler scheduler;
    private final Map<String, OutputProcessor> outputs = new HashMap<>();
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final KvSender sender;
    private final KvReceiver receiver;
    /** Prefill role: grants of requests whose transfer has not started, and transfers under way. */
    private final Map<String, KvGrant> grants = new HashMap<>();
    private final Map<String, OutgoingTransfer> transfers = new HashMap<>();
    /** Decode role: per request, the transfer id, whether its KV has landed, and prefill's first token once known. */
    private final Map<String, Long> incoming = new HashMap<>();
    private final Set<String> landed = new HashSet<>();
    private final Map<String, Integer> firstTokens = new HashMap<>();
    private volatile boolean closed;
    /** Prefill role: push each layer's KV as soon as it is computed (default) or only after the whole step. */
    private volatile boolean layerwise = true;
    private volatile Throwable failure;
    private long steps;
    /** Rows for log-probabilities, reused for every token that asks for them (allocated at the first). */
    private float[] rawRow, logprobScratch;

    /**
     * @param kvBlocks KV memory in blocks of {@link KvLayout#DEFAULT_BLOCK_SIZE} tokens
     */
    public EngineLoop(Model model, Tokenizer tokenizer, SchedulerConfig config, KvLayout layout, int kvBlocks) {
        this(model, tokenizer, config, layout, kvBlocks, null);
    }

    /**
     * @param transport the KV data plane for the prefill and decode roles (ignored for colocated)
     */
    public EngineLoop(Model model, Tokenizer tokenizer, SchedulerConfig config, KvLayout layout, int kvBlocks, KvTransport transport) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.endOfGeneration = OutputProcessor.endOfGeneration(tokenizer);
        this.storage = KvStorage.allocate(layout, kvBlocks);
        this.scheduler = new Scheduler(config, new KvCacheManager(new BlockPool(kvBlocks, layout.blockSize()), true));
        if (config.role() != Role.COLOCATED && transport == null) throw new IllegalArgumentException(config.role() + " role needs a KV transport");
        ModelFingerprint fp = config.role() == Role.COLOCATED ? null : ModelFingerprint.of(model.config(), model.gguf());
        this.sender = config.role() == Role.PREFILL ? new KvSender(storage, fp, transport) : null;
        this.receiver = config.role() == Role.DECODE ? new KvReceiver(storage, fp, transport) : null;
        this.thread = Thread.ofPlatform().name("baton-engine-loop").daemon(true).unstarted(this::run);
        thread.start();
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    public KvStorage storage() {
        return storage;
    }

    /** Steps run so far. */
    public long steps() {
        return steps;
    }

    /**
     * Queues a request to run here from prompt to end (colocated, or a short prompt on a decode worker); its output goes
     * to {@code listener} on the loop thread.
     */
    public void submit(GenerationRequest req, OutputListener listener) {
        if (role() == Role.PREFILL) throw new IllegalStateException("a prefill worker takes requests through submitPrefill");
        check(req);
        command(() -> admit(req, listener));
    }

    /** Prefill role: turns layer-wise streaming off (every layer sent after the step) or back on; for measurements. */
    public void setLayerwiseStreaming(boolean on) {
        layerwise = on;
    }

    public Role role() {
        return scheduler.config().role();
    }

    private void check(GenerationRequest req) {
        int ctx = model.config().contextLength();
        if (req.promptTokens().length >= ctx) {
            throw new IllegalArgumentException("prompt of " + req.promptTokens().length + " tokens does not fit the context length of " + ctx + " tokens");
        }
        int capacity = storage.numBlocks() * storage.layout().blockSize();
        if (req.promptTokens().length + 1 > capacity) {
            throw new IllegalArgumentException("prompt of " + req.promptTokens().length + " tokens does not fit in the KV memory of " + capacity + " tokens");
        }
    }

    private int room(GenerationRequest req) {
        return Math.min(req.params().maxTokens(), model.config().contextLength() - req.promptTokens().length);
    }

    private void admit(GenerationRequest req, OutputListener listener) {
        OutputProcessor out = new OutputProcessor(req, tokenizer, endOfGeneration, listener);
        scheduler.add(new Request(req.id(), req.promptTokens(), room(req)));
        outputs.put(req.id(), out);
    }

    /**
     * Prefill role: computes the prompt, pushing its KV to {@code grant} layer by layer, and emits the first token to
     * {@code listener} ({@code onToken}; {@code onFinish} only if the output ends at that token; {@code onError} if the
     * transfer fails before the first token).
     */
    public void submitPrefill(GenerationRequest req, KvGrant grant, OutputListener listener) {
        if (role() != Role.PREFILL) throw new IllegalStateException("not a prefill worker");
        check(req);
        if (grant.tokens() != req.promptTokens().length) {
            throw new IllegalArgumentException("grant for " + grant.tokens() + " tokens, prompt has " + req.promptTokens().length);
        }
        command(() -> {
            admit(req, listener);
            grants.put(req.id(), grant);
        });
    }

    /**
     * Decode role: reserves blocks for the prompt and returns the grant to push the KV to (empty when the KV memory cannot
     * hold the prompt now). The request's tokens after the first go to {@code listener}.
     */
    public CompletableFuture<Optional<KvGrant>> reserve(GenerationRequest req, OutputListener listener, Duration lease) {
        if (role() != Role.DECODE) throw new IllegalStateException("not a decode worker");
        check(req);
        CompletableFuture<Optional<KvGrant>> result = new CompletableFuture<>();
        command(() -> {
            Request r = new Request(req.id(), req.promptTokens(), room(req));
            Optional<BlockTable> table = scheduler.reserveRemote(r);
            if (table.isEmpty()) {
                result.complete(Optional.empty());
                return;
            }
            outputs.put(req.id(), new OutputProcessor(req, tokenizer, endOfGeneration, listener));
            KvGrant grant = receiver.grant(table.get(), req.promptTokens().length, lease, new TransferListener() {
                @Override
                public void succeeded(long transferId) {
                    command(() -> {
                        landed.add(req.id());
                        tryAdmitRemote(req.id());
                    });
                }

                @Override
                public void failed(long transferId, TransferFailure failure) {
                    command(() -> fail(req.id(), "KV transfer failed: " + failure));
                }
            });
            incoming.put(req.id(), grant.transferId());
            result.complete(Optional.of(grant));
        });
        return result;
    }

    /** {@link #submitPrefill} with the grant as bytes from the control plane ({@link KvGrant#encode}). */
    public void submitPrefill(GenerationRequest req, byte[] grant, OutputListener listener) {
        submitPrefill(req, KvGrant.decode(grant), listener);
    }

    /** {@link #reserve} with the default lease, the grant as bytes for the control plane. */
    public CompletableFuture<Optional<byte[]>> reserveEncoded(GenerationRequest req, OutputListener listener) {
        return reserve(req, listener, KvReceiver.DEFAULT_LEASE).thenApply(g -> g.map(KvGrant::encode));
    }

    /**
     * Decode role: the first token that prefill sampled for {@code id}. Only the token: its log-probabilities, when asked
     * for, went to the client from the prefill worker's listener; this worker computes those of the tokens after it.
     */
    public void firstToken(String id, int token) {
        command(() -> {
            if (!incoming.containsKey(id)) return;
            firstTokens.put(id, token);
            tryAdmitRemote(id);
        });
    }

    private void tryAdmitRemote(String id) {
        if (!landed.contains(id) || !firstTokens.containsKey(id)) return;
        int first = firstTokens.remove(id);
        landed.remove(id);
        incoming.remove(id);
        OutputProcessor out = outputs.get(id);
        // The first token's text was already streamed by prefill: replay it here silently so that penalties, the
        // detokenizer's held-back bytes and the stop checker's held-back text continue exactly where prefill left off.
        out.counts.addGenerated(first);
        out.stop.accept(first, out.decoder.feed(first));
        scheduler.remoteKvReady(id, first);
    }

    private void fail(String id, String message) {
        OutputProcessor out = outputs.remove(id);
        release(id);
        incoming.remove(id);
        landed.remove(id);
        firstTokens.remove(id);
        if (out != null) out.listener.onError(message);
    }

    /**
     * Frees a request's blocks exactly once: through its transfer when one is under way (the transfer's listener calls
     * {@link Scheduler#handoffDone} once the sender thread has let go of the blocks), else at once.
     */
    private void release(String id) {
        grants.remove(id);
        OutgoingTransfer t = transfers.get(id);
        if (t != null) {
            t.abort("request " + id + " ended");
            return;
        }
        Long in = incoming.get(id);
        if (in != null && receiver != null) receiver.cancel(in, "request " + id + " ended");
        scheduler.finish(id);
    }

    /** Aborts a request wherever it is; its listener gets {@link FinishReason#ABORT}. Unknown ids are ignored. */
    public void abort(String id) {
        command(() -> {
            OutputProcessor out = outputs.remove(id);
            Request r = scheduler.get(id);
            release(id);
            incoming.remove(id);
            landed.remove(id);
            firstTokens.remove(id);
            if (out != null) out.listener.onFinish(FinishReason.ABORT, "", out.promptTokens, r == null ? 0 : r.numGenerated());
        });
    }

    /** Runs {@code task} on the loop thread, between steps. */
    public void command(Runnable task) {
        if (closed) throw new IllegalStateException("engine loop is closed");
        commands.add(task);
        LockSupport.unpark(thread);
    }

    private void run() {
        try {
            while (!closed) {
                for (Runnable c; (c = commands.poll()) != null; ) c.run();
                if (!scheduler.hasWork()) {
                    LockSupport.park(this);
                    continue;
                }
                step();
            }
        } catch (Throwable t) {
            failure = t;
            for (OutputProcessor out : outputs.values()) out.listener.onError("engine failed: " + t);
            outputs.clear();
        }
    }

    private void step() {
        SchedulerStep st = scheduler.schedule();
        if (st.isEmpty()) {
            // Nothing fits even with every other request preempted: the head of the queue can never run.
            String id = scheduler.waitingIds().getFirst();
            OutputProcessor out = outputs.remove(id);
            Request r = scheduler.get(id);
            scheduler.finish(id);
            if (out != null) {
                if (r.numGenerated() > 0) out.listener.onFinish(FinishReason.LENGTH, "", out.promptTokens, r.numGenerated());
                else out.listener.onError("request " + id + " does not fit in KV memory");
            }
            return;
        }
        List<SequenceChunk> batch = new ArrayList<>(st.chunks().size());
        for (ScheduledChunk c : st.chunks()) {
            batch.add(new SequenceChunk(c.tokens(), c.start(), c.table(), c.samples() ? c.length() - 1 : c.length()));
        }
        float[] logits;
        if (role() == Role.PREFILL) {
            List<LayerStreamer.Share> shares = startTransfers(st);
            if (layerwise) {
                logits = model.transformer().forward(batch, storage, new LayerStreamer(shares));
            } else {
                // Without layer-wise streaming every layer is sent after the whole step (to measure what streaming buys).
                logits = model.transformer().forward(batch, storage);
                for (LayerStreamer.Share sh : shares) sh.transfer().allLayersReady(sh.firstToken(), sh.count());
            }
        } else {
            logits = model.transformer().forward(batch, storage);
        }
        steps++;
        int vocab = model.config().vocabSize();
        int[] sampled = new int[st.chunks().size()];
        TokenLogprobs[] logprobs = null; // only when a request of this step asked for them
        int row = 0;
        for (int i = 0; i < st.chunks().size(); i++) {
            ScheduledChunk c = st.chunks().get(i);
            if (!c.samples()) continue;
            OutputProcessor out = outputs.get(c.request().id());
            int base = row * vocab;
            float[] l = Arrays.copyOfRange(logits, base, base + vocab);
            row++;
            sampled[i] = out.sampler.sample(l, vocab, out.counts); // writes penalties into its copy only
            if (out.wantsLogprobs()) {
                // Of the raw distribution: the step's row, which the sampler's copy left untouched.
                if (rawRow == null) {
                    rawRow = new float[vocab];
                    logprobScratch = new float[vocab];
                }
                System.arraycopy(logits, base, rawRow, 0, vocab);
                if (logprobs == null) logprobs = new TokenLogprobs[st.chunks().size()];
                logprobs[i] = Logprobs.forToken(rawRow, vocab, sampled[i], out.topLogprobs, logprobScratch);
            }
        }
        scheduler.update(st, sampled);
        for (int i = 0; i < st.chunks().size(); i++) {
            ScheduledChunk c = st.chunks().get(i);
            if (c.samples()) emit(c.request(), sampled[i], logprobs == null ? null : logprobs[i]);
        }
    }

    /** Prefill role: starts the transfers of requests scheduled for the first time; this step's share of each. */
    private List<LayerStreamer.Share> startTransfers(SchedulerStep st) {
        List<LayerStreamer.Share> shares = new ArrayList<>();
        for (ScheduledChunk c : st.chunks()) {
            String id = c.request().id();
            KvGrant grant = grants.remove(id);
            if (grant != null) {
                OutgoingTransfer t = sender.start(grant, c.table(), new TransferListener() {
                    @Override
                    public void succeeded(long transferId) {
                        command(() -> transferEnded(id, null));
                    }

                    @Override
                    public void failed(long transferId, TransferFailure failure) {
                        command(() -> transferEnded(id, failure));
                    }
                });
                transfers.put(id, t);
                if (c.start() > 0) t.allLayersReady(0, c.start()); // prefix-cache hit: those rows are already there
            }
            OutgoingTransfer t = transfers.get(id);
            if (t != null) shares.add(new LayerStreamer.Share(t, c.start(), c.length()));
        }
        return shares;
    }

    /** Prefill role: a transfer is over; its blocks may go. A failure before the first token fails the request. */
    private void transferEnded(String id, TransferFailure failure) {
        transfers.remove(id);
        Request r = scheduler.get(id);
        if (r == null) return;
        if (r.status() == RequestStatus.HANDING_OFF) {
            scheduler.handoffDone(id);
            outputs.remove(id);
        } else {
            scheduler.finish(id);
            OutputProcessor out = outputs.remove(id);
            if (out != null) out.listener.onError("KV transfer failed: " + failure);
        }
    }

    private void emit(Request r, int token, TokenLogprobs logprobs) {
        OutputProcessor out = outputs.get(r.id());
        if (out == null) return;
        out.counts.addGenerated(token);
        StopChecker.Step s = out.stop.accept(token, out.decoder.feed(token));
        boolean full = r.numTokens() >= model.config().contextLength() || r.numGenerated() >= r.maxTokens();
        if (s.finished() || full) {
            FinishReason reason = s.finished() ? s.finish() : FinishReason.LENGTH;
            String text = s.text() + (s.stopString() == null && s.stopTokenId() < 0 ? out.decoder.flush() : "");
            outputs.remove(r.id());
            release(r.id());
            out.listener.onToken(token, "", logprobs);
            out.listener.onFinish(reason, text, out.promptTokens, r.numGenerated());
        } else {
            out.listener.onToken(token, s.text(), logprobs);
            // Prefill role: the request now waits (HANDING_OFF) for its transfer; decode takes the output from here.
        }
    }

    /** The failure that stopped the loop, or null. */
    public Throwable failure() {
        return failure;
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (sender != null) sender.close();
        if (receiver != null) receiver.close();
        storage.close();
    }
}
