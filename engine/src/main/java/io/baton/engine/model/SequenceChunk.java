package io.baton.engine.model;

import io.baton.engine.kv.BlockTable;

/**
 * One sequence's share of a forward step: {@code tokens} at positions {@code start ..}, whose K/V go into the blocks of
 * {@code table} (which must already hold positions {@code 0 .. start} and have room for the new ones).
 *
 * @param logitsFrom index in {@code tokens} from which logits are wanted: 0 for every token, {@code tokens.length - 1}
 *                   for the last only, {@code tokens.length} for none (a prompt chunk that is not the last)
 */
public record SequenceChunk(int[] tokens, int start, BlockTable table, int logitsFrom) {
    public SequenceChunk {
        if (tokens.length == 0) throw new IllegalArgumentException("empty chunk");
        if (start < 0) throw new IllegalArgumentException("negative start position " + start);
        if (logitsFrom < 0 || logitsFrom > tokens.length) throw new IllegalArgumentException("logitsFrom " + logitsFrom + " outside [0, " + tokens.length + "]");
        if (table.capacity() < start + tokens.length) {
            throw new IllegalArgumentException("block table holds " + table.capacity() + " tokens, chunk needs " + (start + tokens.length));
        }
    }

    /** The last token only (decode steps and the last chunk of a prompt). */
    public static SequenceChunk lastLogits(int[] tokens, int start, BlockTable table) {
        return new SequenceChunk(tokens, start, table, tokens.length - 1);
    }

    public int logitsRows() {
        return tokens.length - logitsFrom;
    }

    public int end() {
        return start + tokens.length;
    }
}
