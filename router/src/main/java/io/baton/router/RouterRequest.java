package io.baton.router;

import io.baton.engine.kv.BlockHash;
import io.baton.engine.sampling.SamplingParams;

/**
 * A request ready to route: templated, tokenized and hashed.
 *
 * @param arrivalNanos {@link System#nanoTime()} when it arrived at the router (TTFT and queue time start there)
 */
public record RouterRequest(String id, int[] promptTokens, BlockHash[] blockHashes, SamplingParams params, long arrivalNanos) {}
