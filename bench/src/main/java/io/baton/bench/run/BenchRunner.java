package io.baton.bench.run;

import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.SseDecoder;
import io.baton.bench.client.StreamClient;
import io.baton.bench.client.StreamOutcome;
import io.baton.bench.client.StreamRecord;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.vertx.core.buffer.Buffer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one workload at one arrival schedule. Three kinds of threads, each with one job:
 * <ul>
 *   <li>the scheduler (the caller's thread) builds each request body ahead of time, sleeps until its arrival time,
 *       waits for a {@code --max-concurrency} slot (FIFO, as vLLM's semaphore) and hands it to an event loop;</li>
 *   <li>the event loops ({@link StreamClient}) send, timestamp bytes and store them, nothing else;</li>
 *   <li>the decoder decodes each stream's events as they fill segments, and finished streams into
 *       {@link RequestResult}s.</li>
 * </ul>
 */
public final class BenchRunner {
    private static final long PROBE_PERIOD_NANOS = 2_000_000;

    private BenchRunner() {}

    /**
     * @param offsets        arrival offsets (s) of each request from the start
     * @param maxConcurrency at most this many requests in flight; 0 for no limit
     * @param durationSec    send no request scheduled after this many seconds; 0 for no limit
     * @param runId          prefix of each {@code X-Request-Id} ({@code runId-index})
     */
    public static RunResult run(StreamClient client, RequestBodies bodies, Endpoint endpoint, List<BenchRequest> requests,
                                double[] offsets, double requestRate, int maxConcurrency, double durationSec, String runId,
                                Progress progress) throws InterruptedException {
        return run(client, bodies, endpoint, requests, offsets, requestRate, maxConcurrency, durationSec, runId, progress, null);
    }

    /** What a tool that reads the streams' text gets: each finished stream's decoded outcome, texts included. */
    @FunctionalInterface
    public interface OutcomeListener {
        /** On the decoder thread, once per sent request, before the run returns; must be quick and must not throw. */
        void onOutcome(int requestIndex, StreamOutcome outcome);
    }

    /**
     * As {@link #run(StreamClient, RequestBodies, Endpoint, List, double[], double, int, double, String, Progress)};
     * with a non-null {@code outcomes}, every token's text is kept ({@link StreamOutcome#tokenTexts()}) and each
     * stream's outcome is handed to it.
     */
    public static RunResult run(StreamClient client, RequestBodies bodies, Endpoint endpoint, List<BenchRequest> requests,
                                double[] offsets, double requestRate, int maxConcurrency, double durationSec, String runId,
                                Progress progress, OutcomeListener outcomes) throws InterruptedException {
        int n = requests.size();
        Semaphore slots = maxConcurrency > 0 ? new Semaphore(maxConcurrency, true) : null;
        Semaphore finished = new Semaphore(0);
        DecoderThread decoder = new DecoderThread("bench-decoder");
        RequestResult[] results = new RequestResult[n];
        StreamRecord[] records = new StreamRecord[n];
        LongSamples loopLag = new LongSamples();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long[] loopThreads = client.loopThreadIds();
        long cpu0 = cpuNanos(mx, loopThreads);
        ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("bench-probe").factory());
        prober.scheduleAtFixedRate(() -> client.probe(loopLag::add), 0, PROBE_PERIOD_NANOS, TimeUnit.NANOSECONDS);

        long t0 = System.nanoTime();
        int sent = 0;
        Buffer body = n == 0 ? null : Buffer.buffer(bodies.body(requests.get(0).prompt().get(), requests.get(0).outputTokens()));
        try {
            for (int i = 0; i < n; i++) {
                if (durationSec > 0 && offsets[i] > durationSec) break;
                BenchRequest req = requests.get(i);
                StreamRecord rec = new StreamRecord(i, runId + "-" + req.index());
                records[i] = rec;
                SseDecoder dec = new SseDecoder(endpoint, outcomes != null);   // touched only on the decoder thread, in order
                rec.sink = seg -> decoder.execute(() -> dec.feed(seg));
                rec.scheduledNanos = t0 + (long) (offsets[i] * 1e9);
                for (long now; (now = System.nanoTime()) < rec.scheduledNanos; ) LockSupport.parkNanos(rec.scheduledNanos - now);
                rec.wakeNanos = System.nanoTime();
                if (slots != null) slots.acquire();
                rec.dispatchNanos = System.nanoTime();
                int pos = i;
                client.send(rec, body, r -> {
                    if (slots != null) slots.release();
                    StreamRecord.Segment last = r.drain();
                    int trailing = r.trailingBytes();
                    decoder.execute(() -> {
                        try {
                            dec.feed(last);
                            StreamOutcome o = dec.finish(r.errorCode, r.errorMessage, trailing);
                            results[pos] = result(r, o, req, t0);
                            if (outcomes != null) outcomes.onOutcome(pos, o);
                        } catch (RuntimeException e) { // a decoder bug must not hang the run: count it, with its cause
                            results[pos] = new RequestResult(req.index(), (r.scheduledNanos - t0) / 1e9, (r.sendNanos - t0) / 1e9,
                                    new double[0], (r.endNanos - t0) / 1e9, req.inputTokens(), -1, 0, req.outputTokens(),
                                    "client_error", String.valueOf(e));
                        }
                        if (results[pos].ok()) progress.done.incrementAndGet();
                        else progress.failed.incrementAndGet();
                        progress.outputTokens.add(results[pos].outputTokens());
                        finished.release();
                    });
                });
                progress.sent.incrementAndGet();
                sent++;
                if (i + 1 < n) body = Buffer.buffer(bodies.body(requests.get(i + 1).prompt().get(), requests.get(i + 1).outputTokens()));
            }
            finished.acquire(sent);
        } finally {
            prober.shutdownNow();
            decoder.close();
        }
        long cpu = cpuNanos(mx, loopThreads) - cpu0;
        long end = t0;
        for (int i = 0; i < sent; i++) end = Math.max(end, records[i].endNanos);
        double duration = (end - t0) / 1e9;
        double[] lags = Arrays.stream(loopLag.toArray()).mapToDouble(l -> l / 1e9).toArray();
        return new RunResult(requestRate, t0, duration, Arrays.asList(Arrays.copyOf(results, sent)),
                clientStats(Arrays.copyOf(records, sent), lags, cpu, duration, loopThreads.length), n - sent);
    }

    private static ClientStats clientStats(StreamRecord[] records, double[] loopLags, long loopCpuNanos, double duration, int loops) {
        long events = 0;
        double[] timer = new double[records.length], handoff = new double[records.length];
        for (int i = 0; i < records.length; i++) {
            events += records[i].eventCount();
            timer[i] = (records[i].wakeNanos - records[i].scheduledNanos) / 1e9;
            handoff[i] = (records[i].sendNanos - records[i].dispatchNanos) / 1e9;
        }
        double[] ps = {50, 90, 99, 99.9};
        double cpu = loopCpuNanos / 1e9;
        return new ClientStats(loops, Distribution.of(timer, ps), Distribution.of(handoff, ps), Distribution.of(loopLags, ps),
                cpu, duration > 0 ? cpu / duration / loops : Double.NaN, events, events == 0 ? Double.NaN : cpu * 1e6 / events);
    }

    static RequestResult result(StreamRecord r, StreamOutcome o, BenchRequest req, long t0) {
        double[] tokens = new double[o.tokenNanos().length];
        for (int k = 0; k < tokens.length; k++) tokens[k] = (o.tokenNanos()[k] - t0) / 1e9;
        long endNanos = o.ok() && o.lastEventNanos() > 0 ? o.lastEventNanos() : r.endNanos;
        int output = o.completionTokens() >= 0 ? o.completionTokens() : tokens.length;
        return new RequestResult(req.index(), (r.scheduledNanos - t0) / 1e9, (r.sendNanos - t0) / 1e9, tokens,
                (endNanos - t0) / 1e9, req.inputTokens(), o.promptTokens(), output, req.outputTokens(), o.errorCode(),
                o.errorMessage());
    }

    private static long cpuNanos(ThreadMXBean mx, long[] threads) {
        long sum = 0;
        for (long t : threads) sum += Math.max(0, mx.getThreadCpuTime(t));
        return sum;
    }
}
