package io.baton.router;

import io.baton.engine.kv.BlockHash;
import io.baton.engine.kv.KvEvent;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which worker holds which prefix in its KV cache, fed by the workers' {@link KvEvent}s: chained block hashes name
 * whole prefixes, so a prompt's longest cached prefix on a worker is the run of its leading hashes that the worker
 * reported stored (as the KV-aware routers of vLLM's production stack and Dynamo do).
 *
 * <p>Thread-safe: events arrive on worker threads, lookups come from request threads. A lookup racing an event may see
 * it or not; the index is a routing hint, never a promise (the worker checks its own cache).
 */
public final class PrefixIndex {
    private final Map<BlockHash, Set<String>> holders = new ConcurrentHashMap<>();
    private final Map<String, Long> lastSeq = new ConcurrentHashMap<>();

    /** Applies one event of {@code worker}. A gap in its sequence numbers means lost events: forget the worker. */
    public void apply(String worker, KvEvent event) {
        Long last = lastSeq.put(worker, event.seq());
        if (last != null && event.seq() != last + 1) forget(worker);
        switch (event) {
            case KvEvent.BlockStored s -> {
                for (BlockHash h : s.hashes()) holders.computeIfAbsent(h, k -> ConcurrentHashMap.newKeySet()).add(worker);
            }
            case KvEvent.BlockRemoved r -> {
                for (BlockHash h : r.hashes()) remove(h, worker);
            }
            case KvEvent.AllCleared c -> forget(worker);
        }
    }

    private void remove(BlockHash h, String worker) {
        holders.computeIfPresent(h, (k, set) -> {
            set.remove(worker);
            return set.isEmpty() ? null : set;
        });
    }

    /** Drops everything known about {@code worker} (it left, or its event stream had a gap). */
    public void forget(String worker) {
        for (BlockHash h : holders.keySet()) remove(h, worker);
    }

    /**
     * For each worker holding at least the first block: how many leading blocks of {@code hashes} (a prompt's chain)
     * it holds.
     */
    public Map<String, Integer> matchedBlocks(BlockHash[] hashes) {
        Map<String, Integer> matched = new HashMap<>();
        Set<String> still = null;
        for (int i = 0; i < hashes.length; i++) {
            Set<String> h = holders.get(hashes[i]);
            if (h == null || h.isEmpty()) break;
            Set<String> next = new HashSet<>(h);
            if (still != null) next.retainAll(still);
            if (next.isEmpty()) break;
            for (String w : next) matched.put(w, i + 1);
            still = next;
        }
        return matched;
    }

    /** Distinct prefixes (block hashes) known to be cached somewhere. */
    public int size() {
        return holders.size();
    }
}
