package io.baton.router;

import io.baton.engine.kv.KvEvent;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * The router's only view of a worker: in the same JVM ({@link InProcessWorkerClient}) or over gRPC (the rpc module's
 * GrpcWorkerClient).
 * Every method returns quickly and never blocks on the worker's step loop.
 */
public interface WorkerClient extends AutoCloseable {

    /** The latest known state (may be a few steps old; never blocks). */
    WorkerInfo info();

    /** A fresh state, taken by the worker between two steps. */
    CompletionStage<WorkerInfo> refreshInfo();

    /**
     * Starts a request. Output arrives on {@code listener} from a worker thread (hand it over before doing I/O).
     *
     * @throws IllegalArgumentException when the worker can never run this request (prompt longer than its context or
     *                                  KV memory)
     */
    void submit(GenerationRequest request, OutputListener listener);

    /** Stops a request and frees its KV blocks; its listener gets an abort finish. Unknown ids are ignored. */
    void abort(String requestId);

    /**
     * Delivers the worker's KV cache events (what it holds by prefix) to {@code subscriber}, on a worker thread; the
     * subscriber must be quick and must not throw.
     *
     * @return closing it stops delivery
     */
    AutoCloseable subscribeKvEvents(Consumer<KvEvent> subscriber);

    /**
     * Decode role: reserves KV blocks for the request's prompt and returns the grant, opaque bytes to hand to the prefill
     * worker (the router knows nothing of KV layouts). Empty when the worker has no room now. The tokens after the
     * first go to {@code listener}.
     */
    CompletionStage<java.util.Optional<byte[]>> reserve(GenerationRequest request, OutputListener listener);

    /**
     * Prefill role: computes the prompt, pushes its KV to the grant, and reports the first token to {@code listener}
     * (onFinish only if the output ends there).
     */
    void submitPrefill(GenerationRequest request, byte[] grant, OutputListener listener);

    /** Decode role: the first token that prefill sampled; the request starts decoding once its KV has landed too. */
    void firstToken(String requestId, int token);

    @Override
    void close();
}
