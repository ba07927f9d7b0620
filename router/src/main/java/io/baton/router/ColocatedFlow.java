package io.baton.router;

import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.function.Function;

/** A request served start to end by one colocated worker. */
public final class ColocatedFlow implements RequestFlow {
    @Override
    public Handle start(GenerationRequest request, RoutingDecision route, Function<String, WorkerClient> workers, OutputListener listener) {
        if (!route.colocated()) {
            throw new IllegalStateException("no prefill→decode transfer is configured for prefill worker " + route.prefill().id()
                    + " and decode worker " + route.decode().id());
        }
        WorkerClient w = workers.apply(route.prefill().id());
        w.submit(request, listener);
        return () -> w.abort(request.id());
    }
}
