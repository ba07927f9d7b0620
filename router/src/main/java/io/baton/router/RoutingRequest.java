package io.baton.router;

import io.baton.engine.kv.BlockHash;

/**
 * What a routing policy sees of a request: its size and the chained hashes of its full prompt blocks.
 *
 * @param blockHashes {@link BlockHash#hashes(int[], int)} of the prompt at the workers' block size
 */
public record RoutingRequest(String requestId, int promptTokens, BlockHash[] blockHashes, int blockSize) {}
