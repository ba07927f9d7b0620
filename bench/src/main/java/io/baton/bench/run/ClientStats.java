package io.baton.bench.run;

import io.baton.bench.metrics.Distribution;

/**
 * The client's own overhead during a run, so a reader can tell whether the tool distorted the numbers.
 *
 * @param timerLag          how late the arrival scheduler woke for each request (s)
 * @param handoffLag        from hand-over to the event loop until the request was started there (s)
 * @param loopLag           how late the event loop ran a probe task posted every 2 ms (s): the delay any byte
 *                          arriving then could have waited before being timestamped
 * @param loopCpuSeconds    CPU time of the event-loop threads
 * @param loopUtilization   that CPU time over the run's duration, per event loop (1.0 = one core saturated)
 * @param events            Server-Sent Events received
 * @param cpuMicrosPerEvent event-loop CPU per event (µs), connection handling included
 */
public record ClientStats(int eventLoops, Distribution timerLag, Distribution handoffLag, Distribution loopLag,
                          double loopCpuSeconds, double loopUtilization, long events, double cpuMicrosPerEvent) {}
