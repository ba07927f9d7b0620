package io.baton.router;

import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.function.Function;

/**
 * How a routed request moves through its workers: the seam between choosing workers ({@link RoutingPolicy}) and the
 * transport between them. {@link ColocatedFlow} runs a request on one colocated worker; a disaggregated flow (prefill
 * worker, KV handoff, decode worker) plugs in here without the HTTP layer or the policies changing.
 */
public interface RequestFlow {

    /**
     * Starts {@code request} on the workers of {@code route}. Output (first token, following tokens, one finish or
     * error) goes to {@code listener} from worker threads.
     *
     * @param workers the client of each worker id
     * @return a handle that stops the request on every worker it touches
     * @throws IllegalArgumentException when a worker refuses the request outright (e.g. prompt too long for it)
     * @throws IllegalStateException    when this flow cannot run the route (e.g. a prefill/decode pair with no
     *                                  transfer configured)
     */
    Handle start(GenerationRequest request, RoutingDecision route, Function<String, WorkerClient> workers, OutputListener listener);

    /** A started request. */
    interface Handle {
        /** Aborts the request wherever it is; blocks are freed and the listener gets an abort finish. Idempotent. */
        void cancel();
    }
}
