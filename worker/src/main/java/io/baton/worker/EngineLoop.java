package io.baton.worker;

import io.baton.engine.Model;
import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.KvCacheManager;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.model.SequenceChunk;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.StopChecker;
import io.baton.engine.tokenizer.Tokenizer;
import io.baton.worker.scheduler.Request;
import io.baton.worker.scheduler.ScheduledChunk;
import io.baton.worker.scheduler.Scheduler;
import io.baton.worker.scheduler.SchedulerConfig;
import io.baton.worker.scheduler.SchedulerStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A worker's engine core: one thread that repeats schedule → forward → sample → update over a continuous batch.
 * Other threads talk to it only through {@link #submit} and {@link #abort}, which queue commands for the loop; all
 * scheduler and KV-pool state is touched by the loop thread alone. When there is nothing to run the thread parks.
 *
 * <p>KV memory: one {@link KvStorage} with a {@link BlockPool} over it, sized once from a budget.
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
    private volatile boolean closed;
    private volatile Throwable failure;
    private long steps;

    /**
     * @param kvBlocks KV memory in blocks of {@link KvLayout#DEFAULT_BLOCK_SIZE} tokens
     */
    public EngineLoop(Model model, Tokenizer tokenizer, SchedulerConfig config, KvLayout layout, int kvBlocks) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.endOfGeneration = OutputProcessor.endOfGeneration(tokenizer);
        this.storage = KvStorage.allocate(layout, kvBlocks);
        this.scheduler = new Scheduler(config, new KvCacheManager(new BlockPool(kvBlocks, layout.blockSize()), true));
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

    /** Queues a request; its output goes to {@code listener} on the loop thread. */
    public void submit(GenerationRequest req, OutputListener listener) {
        int ctx = model.config().contextLength();
        if (req.promptTokens().length >= ctx) {
            throw new IllegalArgumentException("prompt of " + req.promptTokens().length + " tokens does not fit the context length of " + ctx + " tokens");
        }
        int capacity = storage.numBlocks() * storage.layout().blockSize();
        if (req.promptTokens().length + 1 > capacity) {
            throw new IllegalArgumentException("prompt of " + req.promptTokens().length + " tokens does not fit in the KV memory of " + capacity + " tokens");
        }
        command(() -> {
            OutputProcessor out = new OutputProcessor(req, tokenizer, endOfGeneration, listener);
            int room = Math.min(req.params().maxTokens(), ctx - req.promptTokens().length);
            scheduler.add(new Request(req.id(), req.promptTokens(), room));
            outputs.put(req.id(), out);
        });
    }

    /** Aborts a request wherever it is; its listener gets {@link FinishReason#ABORT}. Unknown ids are ignored. */
    public void abort(String id) {
        command(() -> {
            OutputProcessor out = outputs.remove(id);
            Request r = scheduler.get(id);
            scheduler.finish(id);
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
        float[] logits = model.transformer().forward(batch, storage);
        steps++;
        int vocab = model.config().vocabSize();
        int[] sampled = new int[st.chunks().size()];
        int row = 0;
        for (int i = 0; i < st.chunks().size(); i++) {
            ScheduledChunk c = st.chunks().get(i);
            if (!c.samples()) continue;
            OutputProcessor out = outputs.get(c.request().id());
            float[] l = Arrays.copyOfRange(logits, row * vocab, (row + 1) * vocab);
            row++;
            sampled[i] = out.sampler.sample(l, vocab, out.counts);
        }
        scheduler.update(st, sampled);
        for (int i = 0; i < st.chunks().size(); i++) {
            ScheduledChunk c = st.chunks().get(i);
            if (c.samples()) emit(c.request(), sampled[i]);
        }
    }

    private void emit(Request r, int token) {
        OutputProcessor out = outputs.get(r.id());
        if (out == null) return;
        out.counts.addGenerated(token);
        StopChecker.Step s = out.stop.accept(token, out.decoder.feed(token));
        boolean full = r.numTokens() >= model.config().contextLength() || r.numGenerated() >= r.maxTokens();
        if (s.finished() || full) {
            FinishReason reason = s.finished() ? s.finish() : FinishReason.LENGTH;
            String text = s.text() + (s.stopString() == null && s.stopTokenId() < 0 ? out.decoder.flush() : "");
            outputs.remove(r.id());
            scheduler.finish(r.id());
            out.listener.onToken(token, "");
            out.listener.onFinish(reason, text, out.promptTokens, r.numGenerated());
        } else {
            out.listener.onToken(token, s.text());
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
        storage.close();
    }
}
