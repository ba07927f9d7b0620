package io.baton.worker.scheduler;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCacheManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which requests run in the next step (policy). Continuous batching after vLLM v1's scheduler: each step has a token
 * budget and a cap on running requests; running requests go first (a decode token each, or the next chunk of their
 * prompt), then waiting requests in arrival order (FCFS) with their prompt cut to what the budget leaves (chunked
 * prefill). When blocks run out, the most recently admitted running request is preempted: its blocks are freed and it
 * goes back to the front of the queue, to be recomputed later. Blocks come from a {@link KvCacheManager} (mechanism);
 * the scheduler never touches block ids itself.
 *
 * <p>Roles: {@link Role#COLOCATED} runs requests to the end. {@link Role#PREFILL} stops a request once its prompt is
 * computed and its first token sampled, holding its blocks ({@link RequestStatus#HANDING_OFF}) until
 * {@link #handoffDone} says the KV has left. {@link Role#DECODE} takes requests whose KV comes from outside:
 * {@link #reserveRemote} reserves their blocks (the grant), {@link #remoteKvReady} admits them into the batch with the
 * first token that prefill sampled.
 *
 * <p>Single-threaded: the worker's step loop owns it.
 */
public final class Scheduler {
    private final SchedulerConfig config;
    private final KvCacheManager kv;
    private final Deque<Request> waiting = new ArrayDeque<>();
    private final List<Request> running = new ArrayList<>();
    private final Map<String, Request> byId = new HashMap<>();
    private long admissions;
    private long preemptions;

    public Scheduler(SchedulerConfig config, KvCacheManager kv) {
        this.config = config;
        this.kv = kv;
    }

    public SchedulerConfig config() {
        return config;
    }

    public KvCacheManager kv() {
        return kv;
    }

    /**
     * Queues a new request (FCFS). A decode worker takes these too: short prompts that are not worth a KV transfer are
     * prefilled where they will be decoded (conditional disaggregation).
     */
    public void add(Request r) {
        register(r);
        waiting.addLast(r);
    }

    private void register(Request r) {
        if (byId.putIfAbsent(r.id(), r) != null) throw new IllegalArgumentException("duplicate request id " + r.id());
    }

    public Request get(String id) {
        return byId.get(id);
    }

    public int numWaiting() {
        return waiting.size();
    }

    public int numRunning() {
        return running.size();
    }

    /** Requests known to the scheduler and not finished (waiting, running, receiving or handing off). */
    public int numActive() {
        return byId.size();
    }

    public boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    /** Plans the next step. */
    public SchedulerStep schedule() {
        int budget = config.tokenBudget();
        List<ScheduledChunk> chunks = new ArrayList<>();
        List<Request> preempted = new ArrayList<>();

        // 1. Running requests, oldest admission first.
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Request r = running.get(i);
            int n = Math.min(r.numTokens() - r.numComputed(), budget);
            if (n <= 0) continue;
            Optional<BlockTable> table;
            while ((table = kv.allocateSlots(r.id(), r.allTokens(), r.numComputed(), n)).isEmpty()) {
                Request victim = running.removeLast();
                preempt(victim);
                preempted.add(victim);
                if (victim == r) break;
            }
            if (table.isEmpty()) break; // r itself was preempted: nothing after it can fit either
            chunks.add(chunk(r, n, table.get()));
            budget -= n;
        }

        // 2. Waiting requests in arrival order, unless this step had to preempt (no room to grow).
        while (preempted.isEmpty() && budget > 0 && running.size() < config.maxRunning() && !waiting.isEmpty()) {
            Request r = waiting.peekFirst();
            int computed = r.numComputed() > 0 ? r.numComputed() : kv.computedPrefix(r.id(), r.allTokens());
            int n = Math.min(r.numTokens() - computed, budget);
            // A prefill worker reserves the whole prompt at once: its KV transfer streams from one fixed block table.
            int reserve = config.role() == Role.PREFILL ? r.numTokens() - computed : n;
            Optional<BlockTable> table = kv.allocateSlots(r.id(), r.allTokens(), computed, reserve);
            if (table.isEmpty()) break;
            waiting.removeFirst();
            r.setNumComputed(computed);
            r.setStatus(RequestStatus.RUNNING);
            r.admittedAt = admissions++;
            running.add(r);
            chunks.add(chunk(r, n, table.get()));
            budget -= n;
        }
        return new SchedulerStep(List.copyOf(chunks), List.copyOf(preempted));
    }

    private static ScheduledChunk chunk(Request r, int n, BlockTable table) {
        return new ScheduledChunk(r, r.numComputed(), n, table, r.numComputed() + n == r.numTokens());
    }

    private void preempt(Request r) {
        kv.free(r.id());
        r.setNumComputed(0);
        r.setStatus(RequestStatus.WAITING);
        r.preemptions++;
        preemptions++;
        waiting.addFirst(r);
    }

    /**
     * Records a finished step: every chunk's tokens now have KV (offered to the prefix cache), and each sampling
     * chunk's request gets its new token.
     *
     * @param sampled one token per chunk of the step, read only where the chunk {@link ScheduledChunk#samples()}
     */
    public void update(SchedulerStep step, int[] sampled) {
        for (int i = 0; i < step.chunks().size(); i++) {
            ScheduledChunk c = step.chunks().get(i);
            Request r = c.request();
            if (r.status() != RequestStatus.RUNNING) continue; // aborted while the step ran
            r.setNumComputed(c.start() + c.length());
            kv.cacheFullBlocks(r.id(), r.allTokens(), r.numComputed());
            if (c.samples()) {
                r.appendToken(sampled[i]);
                if (config.role() == Role.PREFILL) {
                    running.remove(r);
                    r.setStatus(RequestStatus.HANDING_OFF);
                }
            }
        }
    }

    /** Ends a request (stopped, length reached, aborted, failed): releases its blocks exactly once. No-op if unknown. */
    public void finish(String id) {
        Request r = byId.remove(id);
        if (r == null) return;
        switch (r.status()) {
            case WAITING -> waiting.remove(r);
            case RUNNING -> running.remove(r);
            default -> { }
        }
        kv.free(id);
        r.setStatus(RequestStatus.FINISHED);
    }

    /** Prefill role: the KV of a {@link RequestStatus#HANDING_OFF} request has been delivered (or given up): free it. */
    public void handoffDone(String id) {
        Request r = byId.get(id);
        if (r != null && r.status() != RequestStatus.HANDING_OFF) {
            throw new IllegalStateException("request " + id + " is " + r.status() + ", not handing off");
        }
        finish(id);
    }

    /**
     * Decode role: reserves blocks for the prompt of a request whose KV will arrive from a prefill worker (the grant is
     * made before prefill starts, so that prefill can push each layer as soon as it is computed).
     *
     * @return the block table to receive into, or empty when the pool cannot hold the prompt now (nothing reserved)
     */
    public Optional<BlockTable> reserveRemote(Request r) {
        if (config.role() != Role.DECODE) throw new IllegalStateException("only a decode worker receives KV");
        if (r.numGenerated() != 0) throw new IllegalArgumentException("request " + r.id() + " must hold only its prompt");
        Optional<BlockTable> table = kv.allocateSlots(r.id(), r.allTokens(), 0, r.promptLength());
        if (table.isEmpty()) return table;
        register(r);
        r.setStatus(RequestStatus.RECEIVING_KV);
        return table;
    }

    /**
     * Decode role: the prompt's KV has landed in the reserved blocks and prefill sampled {@code firstToken}; the request
     * joins the running batch and its next step computes the first token's KV and samples the second.
     */
    public void remoteKvReady(String id, int firstToken) {
        Request r = byId.get(id);
        if (r == null || r.status() != RequestStatus.RECEIVING_KV) {
            throw new IllegalStateException("request " + id + " is not receiving KV" + (r == null ? "" : " (" + r.status() + ")"));
        }
        r.appendToken(firstToken);
        r.setNumComputed(r.promptLength());
        kv.cacheFullBlocks(id, r.allTokens(), r.numComputed());
        r.setStatus(RequestStatus.RUNNING);
        r.admittedAt = admissions++;
        running.add(r);
    }

    /** Preemptions so far (a request preempted twice counts twice). */
    public long preemptions() {
        return preemptions;
    }

    /** Requests in the running batch (a copy, in admission order). */
    public List<Request> running() {
        return List.copyOf(running);
    }

    /** All requests not yet finished, in no particular order (a copy). */
    public List<Request> active() {
        return List.copyOf(byId.values());
    }

    /** Ids of waiting requests in queue order (a copy). */
    public List<String> waitingIds() {
        List<String> ids = new ArrayList<>();
        for (Iterator<Request> it = waiting.iterator(); it.hasNext(); ) ids.add(it.next().id());
        return ids;
    }
}
