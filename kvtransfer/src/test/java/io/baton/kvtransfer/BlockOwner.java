package io.baton.kvtransfer;

import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCacheManager;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One worker's KV memory for transfer tests: storage, a block pool and a cache manager used under a lock, the way a
 * worker's step loop would (the transfer's listeners run on transport and timer threads). Listeners made by
 * {@link #freeing} release the request's blocks through the manager, exactly like {@code Scheduler.finish}.
 */
final class BlockOwner implements AutoCloseable {
    final KvStorage storage;
    private final BlockPool pool;
    private final KvCacheManager kv;

    BlockOwner(KvLayout layout, int blocks) {
        this.storage = KvStorage.allocate(layout, blocks);
        this.pool = new BlockPool(blocks, layout.blockSize());
        this.kv = new KvCacheManager(pool, false);
    }

    KvLayout layout() {
        return storage.layout();
    }

    /** Reserves blocks for {@code tokens} tokens of request {@code id}; fails the test if the pool is too small. */
    synchronized BlockTable reserve(String id, int tokens) {
        int[] fake = new int[tokens];
        return kv.allocateSlots(id, fake, 0, tokens).orElseThrow(() -> new AssertionError("pool too small for " + tokens + " tokens"));
    }

    synchronized void free(String id) {
        kv.free(id);
    }

    synchronized int freeBlocks() {
        return pool.freeBlocks();
    }

    int numBlocks() {
        return pool.numBlocks();
    }

    synchronized boolean allFree() {
        return pool.freeBlocks() == pool.numBlocks() && kv.numRequests() == 0;
    }

    /** Reserves a table whose blocks are not in the pool's natural order (so source and destination ids differ). */
    synchronized BlockTable reserveShuffled(String id, int tokens) {
        // Take and release a few blocks first so the free queue is no longer 0, 1, 2, ...
        int[] scratch = new int[Math.min(pool.freeBlocks() / 2, 7)];
        String tmp = id + "#tmp";
        kv.allocateSlots(tmp, new int[scratch.length * layout().blockSize()], 0, scratch.length * layout().blockSize());
        BlockTable t = reserve(id, tokens);
        kv.free(tmp);
        return t;
    }

    /** Fills tokens {@code 0 .. tokens-1} of {@code table} with random K/V rows. */
    void fillRandom(BlockTable table, int tokens, long seed) {
        Random r = new Random(seed);
        KvLayout l = layout();
        float[] k = new float[l.kRowWidth()], v = new float[l.vRowWidth()];
        for (int layer = 0; layer < l.layers(); layer++) {
            for (int p = 0; p < tokens; p++) {
                for (int i = 0; i < k.length; i++) k[i] = (float) r.nextGaussian() * 2;
                for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
                storage.write(layer, table.blockOf(p), table.slotOf(p), k, 0, v, 0);
            }
        }
    }

    /** Token {@code p}'s K row then V row of {@code layer}, as floats. */
    float[] row(BlockTable table, int layer, int p) {
        KvLayout l = layout();
        float[] out = new float[l.kRowWidth() + l.vRowWidth()];
        storage.readK(layer, table.blockOf(p), table.slotOf(p), 1, out, 0);
        storage.readV(layer, table.blockOf(p), table.slotOf(p), 1, out, l.kRowWidth());
        return out;
    }

    /** A listener recording the outcome and freeing request {@code id}'s blocks on failure (and on success if asked). */
    Outcome freeing(String id, boolean freeOnSuccess) {
        return new Outcome(() -> free(id), freeOnSuccess);
    }

    @Override
    public void close() {
        storage.close();
    }

    /** Records every call a transfer makes to its listener. */
    static final class Outcome implements TransferListener {
        final List<String> calls = new CopyOnWriteArrayList<>();
        volatile TransferFailure failure;
        private final Runnable free;
        private final boolean freeOnSuccess;

        Outcome(Runnable free, boolean freeOnSuccess) {
            this.free = free;
            this.freeOnSuccess = freeOnSuccess;
        }

        @Override
        public void succeeded(long transferId) {
            calls.add("succeeded");
            if (freeOnSuccess) free.run();
        }

        @Override
        public void failed(long transferId, TransferFailure f) {
            failure = f;
            calls.add("failed " + f.code());
            free.run();
        }

        boolean done() {
            return !calls.isEmpty();
        }

        boolean succeeded() {
            return calls.equals(List.of("succeeded"));
        }
    }
}
