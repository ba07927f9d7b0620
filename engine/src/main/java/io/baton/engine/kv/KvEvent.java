package io.baton.engine.kv;

import java.util.Arrays;
import java.util.List;

/**
 * What a {@link BlockPool} tells subscribers (a router's prefix index, metrics) about its prefix cache, in the shape of
 * vLLM's KV events (vllm/distributed/kv_events.py). Sequence numbers start at 1 and increase by one per event, so a
 * subscriber sees a gap if it lost one and must then resynchronise (treat it like {@link AllCleared}).
 */
public sealed interface KvEvent permits KvEvent.BlockStored, KvEvent.BlockRemoved, KvEvent.AllCleared {

    /** Position of this event in the pool's stream: 1, 2, 3, ... */
    long seq();

    /**
     * Blocks became reusable by prefix: {@code hashes} are a chain, each the child of the one before; the first one's
     * parent is {@code parentHash} (null when the chain starts at the first block of a sequence).
     *
     * @param tokenIds  the tokens of those blocks, {@code hashes.size() × blockSize} of them, or null when the caller did
     *                  not give them (a subscriber that hashes prompts itself does not need them)
     */
    record BlockStored(long seq, List<BlockHash> hashes, BlockHash parentHash, int[] tokenIds, int blockSize) implements KvEvent {
        public BlockStored {
            hashes = List.copyOf(hashes);
            tokenIds = tokenIds == null ? null : tokenIds.clone();
        }

        @Override
        public int[] tokenIds() {
            return tokenIds == null ? null : tokenIds.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BlockStored b && seq == b.seq && blockSize == b.blockSize && hashes.equals(b.hashes)
                    && java.util.Objects.equals(parentHash, b.parentHash) && Arrays.equals(tokenIds, b.tokenIds);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seq) * 31 + hashes.hashCode();
        }

        @Override
        public String toString() {
            return "BlockStored[seq=" + seq + ", hashes=" + hashes + ", parentHash=" + parentHash + ", tokens="
                    + (tokenIds == null ? "none" : tokenIds.length) + ", blockSize=" + blockSize + "]";
        }
    }

    /** Blocks were evicted (their memory is being reused): these prefixes are no longer cached here. */
    record BlockRemoved(long seq, List<BlockHash> hashes) implements KvEvent {
        public BlockRemoved {
            hashes = List.copyOf(hashes);
        }
    }

    /** The whole prefix cache was dropped. */
    record AllCleared(long seq) implements KvEvent {}
}
