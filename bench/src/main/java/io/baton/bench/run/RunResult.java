package io.baton.bench.run;

import io.baton.bench.metrics.RequestResult;

import java.util.List;

/**
 * One run at one request rate.
 *
 * @param requestRate requests per second asked for (infinity: all at once; NaN: the trace's own timestamps)
 * @param t0Nanos     {@code System.nanoTime()} of the run's start; all times in {@code results} count from it
 * @param duration    seconds from start to the last request's end
 * @param notSent     requests left out because {@code --duration} ran out
 */
public record RunResult(double requestRate, long t0Nanos, double duration, List<RequestResult> results,
                        ClientStats client, int notSent) {}
