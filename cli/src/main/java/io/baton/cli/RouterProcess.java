package io.baton.cli;

import io.baton.bench.router.RouterCpu;
import io.baton.router.bench.ScriptedRouter;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The router of {@code baton bench router} in a child JVM: {@code baton bench router --serve} with this JVM's class
 * path and the launcher's JVM flags (plus {@code BATON_JAVA_OPTS}, as the launcher adds them), optionally under
 * {@code taskset -c CPUS}. It is driven over its standard streams
 * (it prints {@code PORT n}, answers {@code CPU} with a {@link RouterCpu} line) and ends when its standard input
 * closes. Its standard error (the router's log) goes to a temporary file, read back when it fails to start.
 */
final class RouterProcess implements AutoCloseable {
    /** The JVM flags of the {@code baton} launcher (the child is the same program). */
    private static final List<String> JVM_FLAGS = List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "-Xss4m");

    /**
     * The launcher's flags, then {@code extra} ({@code BATON_JAVA_OPTS}); ParallelGC unless {@code extra} chooses a
     * collector, as the launcher does (the JVM refuses two, and the child would not start).
     */
    static List<String> jvmFlags(String extra) {
        List<String> flags = new ArrayList<>(JVM_FLAGS);
        List<String> more = extra == null || extra.isBlank() ? List.of() : List.of(extra.trim().split("\\s+"));
        if (more.stream().noneMatch(f -> f.matches("-XX:\\+Use\\w*GC"))) flags.add("-XX:+UseParallelGC");
        flags.addAll(more);
        return flags;
    }

    private final Process process;
    private final Path log;
    private final BufferedReader out;
    private final Writer in;
    private final String url;

    private RouterProcess(Process process, Path log, BufferedReader out, Writer in, String url) {
        this.process = process;
        this.log = log;
        this.out = out;
        this.in = in;
        this.url = url;
    }

    /**
     * Starts the child and waits until it listens.
     *
     * @param cpus a {@code taskset -c} CPU list, or null to leave the child unpinned
     */
    static RouterProcess start(ScriptedRouter.Options o, String cpus) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (cpus != null) {
            if (!cpus.matches("[0-9][0-9,\\-]*")) throw new IllegalArgumentException("--router-cpus must be a CPU list like 0 or 0-1,4, got '" + cpus + "'");
            Path taskset = findOnPath("taskset");
            if (taskset == null) throw new IllegalArgumentException("--router-cpus needs taskset (util-linux) on the PATH");
            cmd.addAll(List.of(taskset.toString(), "-c", cpus));
        }
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmFlags(System.getenv("BATON_JAVA_OPTS")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "router", "--serve",
                "--model", o.model().toAbsolutePath().toString(), "--port", "" + o.router().port(), "--workers", "" + o.workers(),
                "--ttft-ms", "" + o.ttftMillis(), "--itl-ms", "" + o.itlMillis(), "--event-loops", "" + o.router().eventLoops(),
                "--prepare-threads", "" + o.router().prepareThreads(), "--max-concurrent-requests", "" + o.router().maxConcurrentRequests()));
        if (o.batched()) cmd.add("--batched");
        Path log = Files.createTempFile("baton-bench-router-", ".log");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Writer in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
        String port = null;
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("PORT ")) {
                port = line.substring(5).trim();
                break;
            }
        }
        if (port == null) {
            String why = lastError(p, log);
            Files.deleteIfExists(log);
            throw new IllegalStateException("the router process did not start" + (why == null ? "" : ": " + why));
        }
        return new RouterProcess(p, log, out, in, "http://" + o.router().host() + ":" + port);
    }

    String url() {
        return url;
    }

    /** The child's CPU times now. */
    synchronized RouterCpu cpu() throws IOException {
        in.write("CPU\n");
        in.flush();
        for (String line; (line = out.readLine()) != null; ) {
            RouterCpu c = RouterCpu.parseLine(line);
            if (c != null) return c;
        }
        throw new IOException("the router process ended" + (process.isAlive() ? "" : " (exit " + process.exitValue() + ")")
                + "; its log: " + log);
    }

    @Override
    public void close() throws InterruptedException, IOException {
        try {
            in.close();
        } catch (IOException ignored) {
            // it is ended below anyway
        }
        if (!process.waitFor(15, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
        Files.deleteIfExists(log);
    }

    /** The child's one-line error ({@code baton bench router: ...}) once it has ended, or null. */
    private static String lastError(Process p, Path log) throws IOException {
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i).strip();
            if (l.startsWith("baton bench router: ")) return l.substring("baton bench router: ".length());
            if (l.startsWith("baton: error: ")) return l.substring("baton: error: ".length());
        }
        return lines.isEmpty() ? null : lines.getLast().strip();
    }

    private static Path findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }
}
