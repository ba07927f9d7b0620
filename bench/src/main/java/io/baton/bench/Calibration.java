package io.baton.bench;

import io.baton.bench.client.Endpoint;
import io.baton.bench.client.RequestBodies;
import io.baton.bench.client.StreamClient;
import io.baton.bench.data.BenchRequest;
import io.baton.bench.fake.ScriptedServer;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.baton.bench.run.BenchRunner;
import io.baton.bench.run.ClientStats;
import io.baton.bench.run.ClientWarmup;
import io.baton.bench.run.GcPauses;
import io.baton.bench.run.LoopPriority;
import io.baton.bench.run.Progress;
import io.baton.bench.run.RunResult;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code baton bench calibrate}: measures the client's own overhead. A {@link ScriptedServer} (in a child JVM by
 * default) streams {@code streams} concurrent responses of {@code tokens} tokens {@code itl} apart and records when
 * it wrote each token; the client, on {@code clientLoops} event loops, records when each arrived (one clock:
 * {@code System.nanoTime()}, CLOCK_MONOTONIC on Linux for every process). Two numbers per token follow:
 * <ul>
 *   <li>lateness: client arrival minus server write (loopback transit plus client queueing);</li>
 *   <li>ITL distortion: client-observed gap minus the server's actual gap, i.e. how much the tool changes an ITL.</li>
 * </ul>
 * Streams start staggered over one ITL (as continuous batching spreads them) unless {@code aligned}, where every
 * stream's token is written in the same millisecond (the worst case: one decode step feeding every stream at once).
 */
public final class Calibration {
    private Calibration() {}

    /**
     * What to measure.
     *
     * @param serverProcess run the scripted server in a child JVM (its collector pauses and CPU are then not the
     *                      client's); otherwise in this JVM
     * @param serverCpus    a {@code taskset -c} CPU list for the child JVM (keep it off the client's cores), or null
     * @param warmups       rounds of {@link ClientWarmup} before the measured round
     * @param preconnect    open every stream's connection before the measured round ({@link StreamClient#preconnect}),
     *                      so the round measures streaming, not a storm of connection openings
     * @param loopPriority  how the client's event loops are scheduled against its other threads ({@link LoopPriority})
     */
    public record Options(int streams, int tokens, double itlMillis, double ttftMillis, int serverLoops, int clientLoops,
                          boolean aligned, boolean serverProcess, String serverCpus, int warmups, boolean preconnect,
                          LoopPriority loopPriority) {
        public Options {
            if (serverCpus != null && !serverProcess) throw new IllegalArgumentException("--server-cpus pins the child JVM: drop --in-process");
            if (streams < 1 || tokens < 2 || !(itlMillis > 0) || ttftMillis < 0 || serverLoops < 1 || clientLoops < 1 || warmups < 0) {
                throw new IllegalArgumentException("calibrate needs --streams >= 1, --tokens >= 2, --itl-ms > 0, --ttft-ms >= 0,"
                        + " --server-event-loops >= 1, --event-loops >= 1, --warmup >= 0");
            }
        }
    }

    /**
     * Where the gaps distorted by more than 1 ms came from, as far as this JVM can tell.
     *
     * @param overOneMs        gaps whose |distortion| is over 1 ms
     * @param duringGc         of those, gaps whose client-side interval overlaps one of this JVM's collections (±1 ms)
     * @param beforeAllStarted of those, gaps that began before every stream had started
     * @param gcCount          collections of this JVM during the measured round
     * @param gcMillis         their total duration
     * @param gcMaxMillis      the longest
     * @param jitMillis        time the JIT compilers spent during the round (their threads share the client's cores)
     * @param preconnected     connections opened before the round (0 without preconnect)
     * @param loopPriority     how the event loops were scheduled against the client's other threads (what {@code auto}
     *                         chose, where it was asked for)
     * @param overPerSecond    gaps over 1 ms by the second of the round in which they ended
     * @param jitPerSecond     milliseconds the JIT compilers spent in each second of the round (sampled every
     *                         {@value NoiseFloor#JIT_SAMPLE_MILLIS} ms by the noise probe), to line up with the above
     */
    public record Outliers(int overOneMs, int duringGc, int beforeAllStarted, int gcCount, double gcMillis, double gcMaxMillis,
                           long jitMillis, int preconnected, LoopPriority loopPriority, int[] overPerSecond, long[] jitPerSecond) {}

    public record Result(int streams, int tokens, double itlMillis, int clientLoops, int serverLoops, boolean aligned,
                         int completed, Map<String, Integer> errors, double duration, Distribution lateness,
                         Distribution distortion, Distribution absDistortion, Distribution steadyAbsDistortion,
                         ClientStats client, Distribution oversleep, Outliers outliers) {}

    /** Longest wait for the JIT to finish the warm-up's compilations before the measured round. */
    static final long JIT_QUIET_MAX_MILLIS = 20_000;

    /**
     * Runs {@code o.warmups()} rounds of {@link ClientWarmup} first, then (after the connections are open and the JIT
     * has finished what the warm-up queued) the measured round.
     */
    public static Result run(Options o, PrintWriter err, String progress) throws Exception {
        for (int w = 0; w < o.warmups(); w++) ClientWarmup.run(o.clientLoops());
        if (!o.serverProcess()) {
            try (ScriptedServer server = ScriptedServer.start(o.serverLoops(),
                    ScriptedServer.calibrationScript(o.streams(), o.tokens(), o.itlMillis(), o.ttftMillis(), o.aligned()))) {
                Measured m = measure(server.url(), o, err, progress);
                Map<String, long[]> writes = new java.util.HashMap<>();
                server.served().forEach((id, s) -> writes.put(id, s.tokenNanos()));
                return result(m, writes, o);
            }
        }
        try (ServerProcess server = new ServerProcess(o.streams(), o.tokens(), o.itlMillis(), o.ttftMillis(), o.aligned(),
                o.serverLoops(), o.serverCpus())) {
            Measured m = measure(server.url, o, err, progress);
            return result(m, server.writes(), o);
        }
    }

    /** The round as the client saw it, with what else this JVM and machine did meanwhile. */
    private record Measured(RunResult run, Distribution oversleep, long[] jitPerSecond, List<GcPauses.Pause> pauses, long jitMillis,
                            int preconnected, LoopPriority loopPriority) {}

    private static Measured measure(String url, Options o, PrintWriter err, String progress) throws InterruptedException {
        int streams = o.streams();
        try (StreamClient client = new StreamClient(url, Endpoint.CHAT, o.clientLoops(), streams + 1, Map.of(), 60)) {
            NoiseFloor noise = new NoiseFloor();
            try (NoiseFloor.Running probe = noise.start()) {
                LoopPriority applied = o.loopPriority().apply(client.loopLinuxThreadIds());
                int preconnected = o.preconnect() ? client.preconnect(streams) : 0;
                return measure(client, noise, probe, preconnected, applied, o, err, progress);
            }
        }
    }

    private static Measured measure(StreamClient client, NoiseFloor noise, NoiseFloor.Running probe, int preconnected,
                                    LoopPriority applied, Options o, PrintWriter err, String progress) throws InterruptedException {
        int streams = o.streams();
        List<BenchRequest> reqs = new ArrayList<>(streams);
        for (int i = 0; i < streams; i++) reqs.add(BenchRequest.of(i, "calibrate", 1, o.tokens()));
        RequestBodies bodies = new RequestBodies(Endpoint.CHAT, "calibrate", true, null, null);
        if (o.warmups() > 0) {
            long waited = ClientWarmup.awaitJitQuiet(JIT_QUIET_MAX_MILLIS);
            err.printf(Locale.ROOT, "calibrate: waited %d ms for the JIT compilers to finish the warm-up's work%n", waited);
        }
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        long jit0 = jit.getTotalCompilationTime();
        RunResult run;
        try (GcPauses gc = new GcPauses(); Progress p = new Progress(err, streams, "calibrate", progress)) {
            var uptime = java.lang.management.ManagementFactory.getRuntimeMXBean();
            long from = uptime.getUptime();
            probe.record(true);
            run = BenchRunner.run(client, bodies, Endpoint.CHAT, reqs, new double[streams], Double.POSITIVE_INFINITY, 0, 0, "cal", p);
            probe.record(false);
            // On stderr, to line the round up with the JVM's own logs (-Xlog:gc, -XX:+PrintCompilation: uptime in ms).
            err.printf(Locale.ROOT, "calibrate: measured round from JVM uptime %d ms to %d ms%n", from, uptime.getUptime());
            err.flush();
            return new Measured(run, noise.result(PS), noise.jitPerSecond(run.t0Nanos()), gc.pauses(),
                    jit.getTotalCompilationTime() - jit0, preconnected, applied);
        }
    }

    private static final double[] PS = {50, 90, 99, 99.9};

    /** Compares the client's arrival times with the server's write times, token by token. */
    private static Result result(Measured m, Map<String, long[]> writes, Options o) {
        RunResult run = m.run();
        List<Double> late = new ArrayList<>(), dist = new ArrayList<>(), steady = new ArrayList<>();
        Map<String, Integer> errors = new TreeMap<>();
        int completed = 0, over = 0, overGc = 0, overEarly = 0;
        int[] overPerSecond = new int[(int) Math.ceil(run.duration()) + 1];
        // Steady state: gaps that begin after the server wrote the last stream's first token, i.e. once every stream
        // is open and streaming. Before that the client is also accepting 1,000 new connections and responses.
        long allStarted = Long.MIN_VALUE;
        for (long[] w : writes.values()) if (w.length > 0) allStarted = Math.max(allStarted, w[0]);
        for (RequestResult r : run.results()) {
            long[] w = writes.get("cal-" + r.index());
            if (!r.ok() || w == null) {
                errors.merge(r.ok() ? "not_recorded_by_server" : r.errorCode(), 1, Integer::sum);
                continue;
            }
            completed++;
            double[] c = r.tokenTimes();
            int k = Math.min(w.length, c.length);
            for (int j = 0; j < k; j++) {
                double arrival = run.t0Nanos() + c[j] * 1e9;
                late.add((arrival - w[j]) / 1e9);
                if (j == 0) continue;
                double d = ((c[j] - c[j - 1]) * 1e9 - (w[j] - w[j - 1])) / 1e9;
                dist.add(d);
                if (w[j - 1] >= allStarted) steady.add(Math.abs(d));
                if (Math.abs(d) > 1e-3) {
                    over++;
                    long from = run.t0Nanos() + (long) (c[j - 1] * 1e9), to = run.t0Nanos() + (long) (c[j] * 1e9);
                    if (GcPauses.overlaps(m.pauses(), from, to, 1_000_000)) overGc++;
                    if (w[j - 1] < allStarted) overEarly++;
                    overPerSecond[Math.min(overPerSecond.length - 1, (int) c[j])]++;
                }
            }
        }
        double[] d = dist.stream().mapToDouble(Double::doubleValue).toArray();
        double gcMillis = 0, gcMax = 0;
        for (GcPauses.Pause p : m.pauses()) {
            gcMillis += p.millis();
            gcMax = Math.max(gcMax, p.millis());
        }
        Outliers outliers = new Outliers(over, overGc, overEarly, m.pauses().size(), gcMillis, gcMax, m.jitMillis(), m.preconnected(), m.loopPriority(),
                overPerSecond, m.jitPerSecond());
        return new Result(o.streams(), o.tokens(), o.itlMillis(), o.clientLoops(), o.serverLoops(), o.aligned(), completed, errors,
                run.duration(), Distribution.of(late.stream().mapToDouble(Double::doubleValue).toArray(), PS), Distribution.of(d, PS),
                Distribution.of(java.util.Arrays.stream(d).map(Math::abs).toArray(), PS),
                Distribution.of(steady.stream().mapToDouble(Double::doubleValue).toArray(), PS), run.client(), m.oversleep(), outliers);
    }

    /**
     * The machine's own scheduling noise during the measurement: a thread of this JVM that sleeps 1 ms at a time and
     * records how much longer each sleep took (as the rt-tests' cyclictest does). No timestamp taken by any thread can
     * be more precise than this; it separates the tool's share of the distortion from the machine's.
     */
    static final class NoiseFloor {
        /** How often the probe also reads the JIT compilers' total time while recording. */
        static final int JIT_SAMPLE_MILLIS = 100;
        private final io.baton.bench.run.LongSamples samples = new io.baton.bench.run.LongSamples();
        /** Pairs (System.nanoTime(), total JIT milliseconds), one every {@value #JIT_SAMPLE_MILLIS} ms of recording. */
        private final io.baton.bench.run.LongSamples jit = new io.baton.bench.run.LongSamples();

        /** The probe thread; it records only between {@code record(true)} and {@code record(false)}. */
        interface Running extends AutoCloseable {
            void record(boolean on);

            @Override
            void close() throws InterruptedException;
        }

        Running start() {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicBoolean recording = new java.util.concurrent.atomic.AtomicBoolean();
            var compiler = java.lang.management.ManagementFactory.getCompilationMXBean();
            boolean jitTimed = compiler != null && compiler.isCompilationTimeMonitoringSupported();
            Thread t = Thread.ofPlatform().daemon().name("bench-noise-floor").start(() -> {
                long nextJit = 0;
                while (!stop.get()) {
                    long before = System.nanoTime();
                    java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                    if (!recording.get()) continue;
                    long after = System.nanoTime();
                    samples.add(after - before - 1_000_000);
                    if (jitTimed && after >= nextJit) {
                        jit.add(after);
                        jit.add(compiler.getTotalCompilationTime());
                        nextJit = after + JIT_SAMPLE_MILLIS * 1_000_000L;
                    }
                }
            });
            return new Running() {
                @Override
                public void record(boolean on) {
                    recording.set(on);
                }

                @Override
                public void close() throws InterruptedException {
                    stop.set(true);
                    t.join();
                }
            };
        }

        /**
         * JIT milliseconds in each second after {@code t0Nanos}, from the samples (each interval's time is put in
         * the second where the interval ends); empty where the JVM does not time its compilers.
         */
        long[] jitPerSecond(long t0Nanos) {
            return perSecond(jit.toArray(), t0Nanos);
        }

        /**
         * From pairs (time in ns, running total) the growth of the total in each whole second after {@code t0Nanos};
         * each interval between two samples counts in the second where it ends (an interval ending before t0, in the
         * first). Empty with fewer than two samples.
         */
        static long[] perSecond(long[] s, long t0Nanos) {
            if (s.length < 4) return new long[0];
            long[] out = new long[(int) Math.max(1, (s[s.length - 2] - t0Nanos) / 1_000_000_000L + 1)];
            for (int i = 2; i < s.length; i += 2) {
                long at = (s[i] - t0Nanos) / 1_000_000_000L;
                if (at >= 0) out[(int) Math.min(out.length - 1, at)] += s[i + 1] - s[i - 1];
            }
            return out;
        }

        Distribution result(double[] ps) {
            return Distribution.of(java.util.Arrays.stream(samples.toArray()).mapToDouble(v -> Math.max(0, v) / 1e9).toArray(), ps);
        }
    }

    /** {@link ScriptedServer#main} in a child JVM with this one's class path; ended by closing its standard input. */
    private static final class ServerProcess implements AutoCloseable {
        final Process process;
        final String url;

        ServerProcess(int streams, int tokens, double itl, double ttft, boolean aligned, int loops, String cpus) throws java.io.IOException {
            String javaBin = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new ArrayList<>();
            if (cpus != null) {
                if (!java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/taskset"))) {
                    throw new IllegalArgumentException("--server-cpus needs /usr/bin/taskset (util-linux)");
                }
                if (!cpus.matches("[0-9,-]+")) throw new IllegalArgumentException("--server-cpus takes a CPU list like 1 or 2-3, got '" + cpus + "'");
                cmd.addAll(List.of("/usr/bin/taskset", "-c", cpus));
            }
            // The client is what is measured: where the machine has too few cores for both, the server yields (its
            // writes then come late, which costs nothing: they are compared at the times they really happened).
            if (java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/nice"))) cmd.addAll(List.of("/usr/bin/nice", "-n", "10"));
            cmd.addAll(List.of(javaBin, "-XX:+UseParallelGC", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                    ScriptedServer.class.getName(), "" + streams, "" + tokens, "" + itl, "" + ttft, "" + aligned, "" + loops));
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            String line;
            String found = null;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("PORT ")) {
                    found = "http://127.0.0.1:" + line.substring(5).trim();
                    break;
                }
            }
            if (found == null) {
                process.destroyForcibly();
                throw new java.io.IOException("the scripted server process did not start");
            }
            url = found;
        }

        Map<String, long[]> writes() throws java.io.IOException, InterruptedException {
            try (var http = java.net.http.HttpClient.newHttpClient()) {
                var resp = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/served")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofInputStream());
                Map<String, long[]> out = new java.util.HashMap<>();
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body()).properties().forEach(e -> {
                    long[] t = new long[e.getValue().size()];
                    for (int i = 0; i < t.length; i++) t[i] = e.getValue().get(i).asLong();
                    out.put(e.getKey(), t);
                });
                return out;
            }
        }

        @Override
        public void close() throws InterruptedException {
            try {
                process.getOutputStream().close();
            } catch (java.io.IOException ignored) {
                // it is ended below anyway
            }
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        }
    }

    public static void print(Result r, PrintWriter out) {
        out.printf(Locale.ROOT, "Client calibration: %d concurrent streams x %d tokens, ITL %.1f ms, %s, client event loops %d, server event loops %d%n",
                r.streams(), r.tokens(), r.itlMillis(), r.aligned() ? "aligned" : "staggered", r.clientLoops(), r.serverLoops());
        out.printf(Locale.ROOT, "  completed %d/%d%s in %.2f s, %d events%n", r.completed(), r.streams(),
                r.errors().isEmpty() ? "" : " errors " + r.errors(), r.duration(), r.client().events());
        line(out, "lateness (arrival - server write)", r.lateness());
        line(out, "ITL distortion (client gap - server gap)", r.distortion());
        line(out, "|ITL distortion|", r.absDistortion());
        line(out, "|ITL distortion|, every stream started", r.steadyAbsDistortion());
        out.printf(Locale.ROOT, "  event-loop lag: p99 %.3f ms, max %.3f ms; event-loop CPU %.2f us/event, utilization %.1f %%%n",
                r.client().loopLag().p(99) * 1e3, r.client().loopLag().max() * 1e3, r.client().cpuMicrosPerEvent(),
                r.client().loopUtilization() * 100);
        line(out, "machine noise: oversleep of a 1 ms sleep", r.oversleep());
        Outliers o = r.outliers();
        out.printf(Locale.ROOT, "  connections opened before the round: %d; client collections during it: %d (%.1f ms, longest %.1f ms);"
                + " JIT compilation during it: %d ms; --loop-priority %s%n", o.preconnected(), o.gcCount(),
                o.gcMillis(), o.gcMaxMillis(), o.jitMillis(), o.loopPriority().cliName());
        out.printf(Locale.ROOT, "  gaps distorted by more than 1 ms: %d (%.3f %% of gaps); within 1 ms of a client collection: %d;"
                + " begun before every stream had started: %d%n", o.overOneMs(), 100.0 * o.overOneMs() / Math.max(1, r.distortion().count()),
                o.duringGc(), o.beforeAllStarted());
        out.printf(Locale.ROOT, "  per second of the round, gaps over 1 ms: %s%n", perSecond(o.overPerSecond()));
        out.printf(Locale.ROOT, "  per second of the round, JIT ms:          %s%n", perSecond(o.jitPerSecond()));
        out.printf(Locale.ROOT, "  verdict: p99 |ITL distortion| %.3f ms %s 1 ms over the whole round, %.3f ms %s 1 ms once every stream"
                        + " has started (the machine's own p99 oversleep: %.3f ms)%n",
                r.absDistortion().p(99) * 1e3, r.absDistortion().p(99) <= 0.001 ? "<=" : ">",
                r.steadyAbsDistortion().p(99) * 1e3, r.steadyAbsDistortion().p(99) <= 0.001 ? "<=" : ">", r.oversleep().p(99) * 1e3);
    }

    private static String perSecond(int[] counts) {
        return perSecond(java.util.Arrays.stream(counts).asLongStream().toArray());
    }

    private static String perSecond(long[] values) {
        if (values.length == 0) return "(not available)";
        StringBuilder b = new StringBuilder();
        for (long v : values) b.append(b.isEmpty() ? "" : " ").append(v);
        return b.toString();
    }

    private static void line(PrintWriter out, String name, Distribution d) {
        out.printf(Locale.ROOT, "  %-42s mean %7.3f  p50 %7.3f  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  max %7.3f ms%n", name,
                d.mean() * 1e3, d.p(50) * 1e3, d.p(90) * 1e3, d.p(99) * 1e3, d.p(99.9) * 1e3, d.max() * 1e3);
    }
}
