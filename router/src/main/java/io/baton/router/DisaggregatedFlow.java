package io.baton.router;

import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A request through a prefill worker and a decode worker (architecture.md, "One request, end to end"): the decode
 * worker reserves KV blocks and grants them; the prefill worker computes the prompt, pushes its KV layer by layer to
 * the grant and samples the first token, which streams to the client at once (TTFT) and is passed on to the decode
 * worker; the decode worker admits the request once its KV has landed and streams the rest. A colocated route runs on
 * its one worker, and so does a prompt shorter than {@link #minPromptTokens} on the decode worker (conditional
 * disaggregation: for a short prompt the transfer costs more than it saves).
 *
 * <p>The listener hears exactly one end ({@code onFinish} or {@code onError}) whatever the workers report.
 */
public final class DisaggregatedFlow implements RequestFlow {
    /**
     * Threshold for a decode worker that reports no measured prefill speed: two KV blocks of tokens. Workers started
     * by {@code baton serve} and {@code baton worker --role decode} measure theirs ({@link #thresholdFor}).
     */
    public static final int DEFAULT_MIN_PROMPT_TOKENS = 32;

    /** Marks a threshold to be measured at startup ({@code --disaggregation-threshold auto}). */
    public static final int AUTO = -1;

    /** The TPOT objective of the seed documents (P90 TPOT ≤ 40 ms), which bounds a local prefill. */
    public static final double DEFAULT_TPOT_SLO_SECONDS = 0.04;

    /**
     * The measured threshold: the prompt length the decode worker prefills within one TPOT objective.
     *
     * <p>Why this bound: a prompt prefilled by the decode worker itself runs inside its decode loop, so every stream in
     * its running batch waits for it: one inter-token gap grows by {@code tokens / prefillSpeed}. Up to this length
     * the stall stays within one TPOT objective and the new request saves the grant round trip and the KV transfer;
     * longer prompts would push running streams past their objective, so they go to the prefill worker (DistServe's
     * argument for disaggregation; Dynamo's "conditional disaggregation" has the same switch as a fixed length).
     *
     * @param prefillTokensPerSecond the decode worker's measured prefill speed
     * @param tpotSloSeconds         the per-token latency objective
     */
    public static int thresholdFor(double prefillTokensPerSecond, double tpotSloSeconds) {
        if (!(prefillTokensPerSecond > 0) || !(tpotSloSeconds > 0)) {
            throw new IllegalArgumentException("prefill speed and TPOT objective must be > 0, got " + prefillTokensPerSecond + " and " + tpotSloSeconds);
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.floor(prefillTokensPerSecond * tpotSloSeconds));
    }

    private final int minPromptTokens;

    /** @param minPromptTokens a fixed threshold in tokens, or {@link #AUTO} to derive it from each decode worker */
    public DisaggregatedFlow(int minPromptTokens) {
        if (minPromptTokens < 0 && minPromptTokens != AUTO) {
            throw new IllegalArgumentException("disaggregation threshold must be >= 0 tokens (or auto), got " + minPromptTokens);
        }
        this.minPromptTokens = minPromptTokens;
    }

    /** The fixed threshold, or {@link #AUTO}. */
    public int minPromptTokens() {
        return minPromptTokens;
    }

    /**
     * The threshold for a request routed to {@code decode}: the fixed one, or with {@link #AUTO} the one its reported
     * prefill speed gives ({@link #thresholdFor}); {@link #DEFAULT_MIN_PROMPT_TOKENS} for a worker that reports none.
     */
    public int thresholdFor(WorkerInfo decode) {
        if (minPromptTokens != AUTO) return minPromptTokens;
        double speed = decode.prefillTokensPerSecond();
        return speed > 0 ? thresholdFor(speed, DEFAULT_TPOT_SLO_SECONDS) : DEFAULT_MIN_PROMPT_TOKENS;
    }

    @Override
    public Handle start(GenerationRequest request, RoutingDecision route, Function<String, WorkerClient> workers, OutputListener listener) {
        if (route.colocated()) {
            WorkerClient w = workers.apply(route.prefill().id());
            w.submit(request, listener);
            return () -> w.abort(request.id());
        }
        WorkerClient decode = workers.apply(route.decode().id());
        if (request.promptTokens().length < thresholdFor(route.decode())) {
            decode.submit(request, listener);
            return () -> decode.abort(request.id());
        }
        WorkerClient prefill = workers.apply(route.prefill().id());
        Pd pd = new Pd(request, prefill, decode, listener);
        decode.reserve(request, pd.decodeSide()).whenComplete((grant, error) -> {
            if (error != null) {
                pd.error("decode worker " + route.decode().id() + " could not reserve KV: " + error.getMessage());
            } else if (grant.isEmpty()) {
                pd.error("decode worker " + route.decode().id() + " has no KV memory free for a prompt of " + request.promptTokens().length + " tokens");
            } else if (!pd.ended.get()) {
                try {
                    prefill.submitPrefill(request, grant.get(), pd.prefillSide());
                } catch (RuntimeException e) {
                    decode.abort(request.id());
                    pd.error(e.getMessage());
                }
            } else {
                decode.abort(request.id()); // cancelled while the grant was on its way
            }
        });
        return pd::cancel;
    }

    /** One disaggregated request: forwards both workers' output to the client's listener and ends it exactly once. */
    private static final class Pd {
        final GenerationRequest request;
        final WorkerClient prefill, decode;
        final OutputListener client;
        final AtomicBoolean ended = new AtomicBoolean();

        Pd(GenerationRequest request, WorkerClient prefill, WorkerClient decode, OutputListener client) {
            this.request = request;
            this.prefill = prefill;
            this.decode = decode;
            this.client = client;
        }

        OutputListener prefillSide() {
            return new OutputListener() {
                @Override
                public void onToken(int token, String text) {
                    onToken(token, text, null);
                }

                @Override
                public void onToken(int token, String text, TokenLogprobs logprobs) {
                    if (ended.get()) return;
                    // The first token's log-probabilities are prefill's (decode never sees that token's logits).
                    client.onToken(token, text, logprobs);
                    decode.firstToken(request.id(), token);
                }

                @Override
                public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    // The output ended at its first token (or was aborted): decode has nothing to do. End first: the
                    // decode side's abort finish (which a worker client may deliver at once) must not win.
                    end(() -> client.onFinish(reason, text, promptTokens, completionTokens));
                    decode.abort(request.id());
                }

                @Override
                public void onError(String message) {
                    error("prefill: " + message);
                    decode.abort(request.id());
                }
            };
        }

        OutputListener decodeSide() {
            return new OutputListener() {
                @Override
                public void onToken(int token, String text) {
                    onToken(token, text, null);
                }

                @Override
                public void onToken(int token, String text, TokenLogprobs logprobs) {
                    if (!ended.get()) client.onToken(token, text, logprobs);
                }

                @Override
                public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    end(() -> client.onFinish(reason, text, promptTokens, completionTokens));
                }

                @Override
                public void onError(String message) {
                    error("decode: " + message);
                    prefill.abort(request.id());
                }
            };
        }

        void error(String message) {
            end(() -> client.onError(message));
        }

        void end(Runnable r) {
            if (ended.compareAndSet(false, true)) r.run();
        }

        void cancel() {
            prefill.abort(request.id());
            decode.abort(request.id());
            end(() -> client.onFinish(FinishReason.ABORT, "", request.promptTokens().length, 0));
        }
    }
}
