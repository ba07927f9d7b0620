package io.baton.router;

import io.baton.engine.kv.BlockHash;
import io.baton.engine.sampling.SamplingParams;

/**
 * A request ready to route: templated, tokenized and hashed.
 *
 * @param id           the router's and workers' id of the request (unique: the completion id)
 * @param clientId     the {@code X-Request-Id} of the HTTP request (given by the client or generated), for logs and
 *                     metric exemplars
 * @param arrivalNanos {@link System#nanoTime()} when it arrived at the router (TTFT and queue time start there)
 */
public record RouterRequest(String id, String clientId, int[] promptTokens, BlockHash[] blockHashes, SamplingParams params, long arrivalNanos) {}
