package io.baton.router;

import io.baton.engine.kv.KvEvent;
import io.baton.engine.sampling.FinishReason;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A real worker with test controls: it records aborts and can hold its step loop right after a request's first token
 * has been handed on (so a test can act while a request is known to be mid-generation, with no timing guesses).
 */
final class ControlledWorkerClient implements WorkerClient {
    final WorkerClient delegate;
    final List<String> aborts = new CopyOnWriteArrayList<>();
    final List<String> finishes = new CopyOnWriteArrayList<>();
    volatile CountDownLatch holdAfterFirstToken;
    volatile long lastAbortNanos;
    final CountDownLatch firstTokenReached = new CountDownLatch(1);

    ControlledWorkerClient(WorkerClient delegate) {
        this.delegate = delegate;
    }

    @Override
    public WorkerInfo info() {
        return delegate.info();
    }

    @Override
    public CompletionStage<WorkerInfo> refreshInfo() {
        return delegate.refreshInfo();
    }

    @Override
    public void submit(GenerationRequest request, OutputListener listener) {
        delegate.submit(request, new OutputListener() {
            boolean first = true;

            @Override
            public void onToken(int token, String text) {
                onToken(token, text, null);
            }

            @Override
            public void onToken(int token, String text, io.baton.engine.sampling.TokenLogprobs logprobs) {
                listener.onToken(token, text, logprobs);
                if (first) {
                    first = false;
                    firstTokenReached.countDown();
                    CountDownLatch hold = holdAfterFirstToken;
                    if (hold != null) {
                        try {
                            // Blocks the worker's loop thread: nothing else runs on it until the test releases it.
                            if (!hold.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("test never released the worker");
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            }

            @Override
            public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                finishes.add(request.id() + ":" + reason.wireName() + ":" + completionTokens);
                listener.onFinish(reason, text, promptTokens, completionTokens);
            }

            @Override
            public void onError(String message) {
                listener.onError(message);
            }
        });
    }

    @Override
    public void abort(String requestId) {
        lastAbortNanos = System.nanoTime();
        aborts.add(requestId);
        delegate.abort(requestId);
    }

    @Override
    public AutoCloseable subscribeKvEvents(Consumer<KvEvent> subscriber) {
        return delegate.subscribeKvEvents(subscriber);
    }

    @Override
    public void close() {
        delegate.close();
    }

    // A colocated worker only: the disaggregated calls are never routed to it.
    @Override
    public java.util.concurrent.CompletionStage<java.util.Optional<byte[]>> reserve(io.baton.worker.GenerationRequest request, io.baton.worker.OutputListener listener) {
        throw new AssertionError("a colocated test worker got a decode reservation");
    }

    @Override
    public void submitPrefill(io.baton.worker.GenerationRequest request, byte[] grant, io.baton.worker.OutputListener listener) {
        throw new AssertionError("a colocated test worker got a prefill request");
    }

    @Override
    public void firstToken(String requestId, int token) {
        throw new AssertionError("a colocated test worker got a first token");
    }
}
