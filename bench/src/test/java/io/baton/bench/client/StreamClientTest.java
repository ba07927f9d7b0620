package io.baton.bench.client;

import io.baton.bench.data.BenchRequest;
import io.baton.bench.fake.ScriptedServer;
import io.baton.bench.fake.ScriptedServer.Script;
import io.baton.bench.run.BenchRunner;
import io.baton.bench.run.LoopPriority;
import io.baton.bench.run.Progress;
import io.baton.bench.run.RunResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class StreamClientTest {

    /** Preconnected connections are the ones the streams then use: the server accepts no new one during the round. */
    @Test
    void preconnectOpensTheConnectionsTheStreamsReuse() throws Exception {
        int streams = 12;
        try (ScriptedServer server = ScriptedServer.start(1, i -> Script.stream(5, 5, 4));
             StreamClient client = new StreamClient(server.url() + "/v1", Endpoint.CHAT, 1, streams + 1, Map.of(), 30)) {
            assertThat(client.preconnect(streams)).isEqualTo(streams);
            assertThat(server.connections()).isEqualTo(streams);
            List<BenchRequest> reqs = new ArrayList<>();
            for (int i = 0; i < streams; i++) reqs.add(BenchRequest.of(i, "p", 1, 4));
            RunResult run = BenchRunner.run(client, new RequestBodies(Endpoint.CHAT, "fake", true, null, null), Endpoint.CHAT, reqs,
                    new double[streams], Double.POSITIVE_INFINITY, 0, 0, "t", Progress.off(streams));
            assertThat(run.results()).allMatch(r -> r.ok() && r.tokenTimes().length == 4);
            assertThat(server.connections()).isEqualTo(streams);
        }
    }

    /** A server without {@code GET /v1/models} answers 404: the connections are open all the same, none counted as ok. */
    @Test
    void preconnectCountsOnlySuccessfulAnswers() throws Exception {
        try (ScriptedServer server = ScriptedServer.start(1, i -> Script.stream(5, 5, 4));
             StreamClient client = new StreamClient(server.url() + "/nothing-here", Endpoint.CHAT, 1, 4, Map.of(), 30)) {
            // The root is taken from the URL as given; /nothing-here/v1/models does not exist on the scripted server.
            assertThat(client.preconnect(3)).isZero();
            assertThat(server.connections()).isEqualTo(3);
        }
    }

    /** Refused connections are answers too (failures): preconnect returns at once with none counted. */
    @Test
    void preconnectToAPortNobodyListensOnCountsNone() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (StreamClient client = new StreamClient("http://127.0.0.1:" + port, Endpoint.CHAT, 1, 4, Map.of(), 5)) {
            assertThat(client.preconnect(3)).isZero();
        }
    }

    /**
     * {@code realtime}: the event loop ends up in SCHED_FIFO at priority 1, read back from the kernel ({@code
     * /proc/self/task/TID/stat}, fields 40 and 41); where the process may not do that (no CAP_SYS_NICE), the error says
     * why and the test is skipped.
     */
    @Test
    void realtimePutsTheEventLoopInTheRealTimeClass() throws Exception {
        try (StreamClient client = new StreamClient("http://127.0.0.1:9", Endpoint.CHAT, 1, 2, Map.of(), 5)) {
            long[] tids = client.loopLinuxThreadIds();
            try {
                assertThat(LoopPriority.REALTIME.apply(tids)).isEqualTo(LoopPriority.REALTIME);
            } catch (IllegalStateException e) {
                assertThat(e).hasMessageContaining("chrt");
                org.junit.jupiter.api.Assumptions.abort("not permitted here (no CAP_SYS_NICE): " + e.getMessage());
            }
            String[] f = stat(tids[0]);
            assertThat(f[37]).as("rt_priority").isEqualTo("1");
            assertThat(f[38]).as("policy (1 = SCHED_FIFO)").isEqualTo("1");
        }
    }

    /**
     * {@code short-slice}: the event loop stays a normal thread at its nice value and gets the 0.1 ms slice, read back
     * from the kernel's own view ({@code /proc/self/task/TID/sched}: policy, prio, se.slice); kernels before 6.12 have
     * no per-thread slice, and the error says so (test skipped).
     */
    @Test
    void shortSliceGivesTheEventLoopTheShortestSliceAndKeepsItNormal() throws Exception {
        try (StreamClient client = new StreamClient("http://127.0.0.1:9", Endpoint.CHAT, 1, 2, Map.of(), 5)) {
            long[] tids = client.loopLinuxThreadIds();
            Map<String, String> before = sched(tids[0]);
            try {
                assertThat(LoopPriority.SHORT_SLICE.apply(tids)).isEqualTo(LoopPriority.SHORT_SLICE);
            } catch (IllegalStateException e) {
                assertThat(e).hasMessageContaining("6.12");
                org.junit.jupiter.api.Assumptions.abort("no per-thread slices on this kernel: " + e.getMessage());
            }
            Map<String, String> after = sched(tids[0]);
            assertThat(after.get("se.slice")).isEqualTo("100000");
            assertThat(after.get("policy")).as("SCHED_OTHER").isEqualTo("0");
            assertThat(after.get("prio")).as("nice value unchanged").isEqualTo(before.get("prio"));
        }
    }

    /**
     * {@code auto} (the default): short-slice where the kernel honours it, read back as above; elsewhere it leaves the
     * loop alone and says {@code normal}. Never throws.
     */
    @Test
    void autoTakesTheShortSliceWhereTheKernelHasItAndOtherwiseLeavesTheLoopAlone() throws Exception {
        try (StreamClient client = new StreamClient("http://127.0.0.1:9", Endpoint.CHAT, 1, 2, Map.of(), 5)) {
            long[] tids = client.loopLinuxThreadIds();
            Map<String, String> before = sched(tids[0]);
            LoopPriority applied = LoopPriority.AUTO.apply(tids);
            Map<String, String> after = sched(tids[0]);
            assertThat(applied).isIn(LoopPriority.SHORT_SLICE, LoopPriority.NORMAL);
            if (applied == LoopPriority.SHORT_SLICE) assertThat(after.get("se.slice")).isEqualTo("100000");
            else assertThat(after.get("se.slice")).isEqualTo(before.get("se.slice"));
            assertThat(after.get("policy")).as("SCHED_OTHER").isEqualTo("0");
            assertThat(after.get("prio")).as("nice value unchanged").isEqualTo(before.get("prio"));
        }
    }

    /** {@code /proc/self/task/TID/sched} as name → value (lines {@code name : value}). */
    private static Map<String, String> sched(long tid) throws java.io.IOException {
        Map<String, String> m = new java.util.HashMap<>();
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/task/" + tid + "/sched"))) {
            int colon = line.indexOf(':');
            if (colon > 0) m.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
        }
        return m;
    }

    /** Fields of {@code /proc/self/task/TID/stat} from field 3 on . */
    private static String[] stat(long tid) throws java.io.IOException {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/task/" + tid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }
}
