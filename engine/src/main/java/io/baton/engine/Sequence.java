package io.baton.engine;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import io.baton.engine.model.SequenceChunk;
import io.baton.engine.model.Transformer;

import java.util.List;

/**
 * One sequence with KV memory of its own, for work outside a scheduler (tests, scoring, the {@code logits} command):
 * its blocks are allocated up front for {@code capacity} tokens and numbered 0..n-1. Serving goes through the
 * scheduler and the shared block pool instead.
 */
public final class Sequence implements AutoCloseable {
    private final Transformer transformer;
    private final KvStorage storage;
    private final BlockTable table;
    private int length;

    Sequence(Transformer transformer, int capacity, KvType type) {
        this.transformer = transformer;
        KvLayout layout = KvLayout.of(transformer.config(), type, KvLayout.DEFAULT_BLOCK_SIZE);
        int blocks = Math.max(1, layout.blocksForTokens(capacity));
        this.storage = KvStorage.allocate(layout, blocks);
        int[] ids = new int[blocks];
        for (int i = 0; i < blocks; i++) ids[i] = i;
        this.table = new BlockTable(ids, layout.blockSize());
    }

    /** Tokens run so far. */
    public int length() {
        return length;
    }

    /**
     * Runs {@code tokens} after the ones already run.
     *
     * @param allLogits logits for every token, or only for the last
     */
    public float[] forward(int[] tokens, boolean allLogits) {
        SequenceChunk chunk = new SequenceChunk(tokens, length, table, allLogits ? 0 : tokens.length - 1);
        float[] logits = transformer.forward(List.of(chunk), storage);
        length += tokens.length;
        return logits;
    }

    @Override
    public void close() {
        storage.close();
    }
}
