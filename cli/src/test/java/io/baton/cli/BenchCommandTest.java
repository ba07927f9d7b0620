package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.bench.fake.ScriptedServer;
import io.baton.bench.fake.ScriptedServer.Script;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code baton bench serve} as a user types it. */
@Timeout(60)
class BenchCommandTest {
    record Result(int code, String out, String err) {}

    static Result baton(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void runsAgainstAServerAndWritesResults(@TempDir Path dir) throws Exception {
        try (ScriptedServer server = ScriptedServer.start(1, i -> Script.stream(5, 3, -1))) {
            Result r = baton("bench", "serve", "--url", server.url(), "--model", "m", "--dataset", "random", "--num-prompts", "12",
                    "--random-input-len", "16", "--random-output-len", "4", "--request-rate", "100", "--burstiness", "0.5",
                    "--max-concurrency", "3", "--ignore-eos", "--slo", "ttft=1,tpot=0.5", "--out", dir.toString(),
                    "--progress", "off", "--no-warmup");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("Serving Benchmark Result").contains("Successful requests:").contains("Goodput")
                    .contains("Wrote " + dir.resolve("result.json"));
            JsonNode j = new ObjectMapper().readTree(dir.resolve("result.json").toFile());
            assertThat(j.at("/summary/completed").asInt()).isEqualTo(12);
            assertThat(j.at("/summary/slo_attainment").asDouble()).isEqualTo(1.0);
            assertThat(j.at("/config/max_concurrency").asInt()).isEqualTo(3);
            assertThat(j.at("/config/burstiness").asDouble()).isEqualTo(0.5);
            assertThat(j.at("/requests/0/output_tokens").asInt()).isEqualTo(4);
            assertThat(dir.resolve("report.html")).isRegularFile();
            assertThat(server.maxInFlight()).isLessThanOrEqualTo(3);
        }
    }

    @Test
    void badInputGetsOneLine(@TempDir Path dir) {
        Result r = baton("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--dataset", "nope", "--out", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench serve: unknown --dataset 'nope' (one of random, sharegpt, mooncake, prefix-repetition)");
        r = baton("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--slo", "ttft=fast", "--out", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("baton bench serve: --slo ttft: not a number of seconds: 'fast'");
        r = baton("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--request-rate", "-3", "--out", dir.toString());
        assertThat(r.err().strip()).isEqualTo("baton bench serve: request rate must be a number > 0, 'inf' or 'trace', got '-3'");
        r = baton("bench", "serve", "--url", "localhost:8000", "--model", "m", "--num-prompts", "2", "--random-input-len", "4",
                "--out", dir.toString(), "--no-warmup");
        assertThat(r.err().strip()).isEqualTo("baton bench serve: --url must look like http://host:port, got 'localhost:8000'");
        r = baton("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--dataset", "sharegpt", "--out", dir.toString());
        assertThat(r.err().strip()).isEqualTo("baton bench serve: dataset sharegpt needs --dataset-path");
        r = baton("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--dataset", "random", "--request-rate", "trace", "--out", dir.toString());
        assertThat(r.err().strip()).isEqualTo("baton bench serve: --request-rate trace needs a dataset with timestamps (mooncake)");
        r = baton("bench", "serve", "--model", "m");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("Missing required option").contains("--url=URL");
    }

    @Test
    void unreachableServerStopsAtTheCheck(@TempDir Path dir) throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Result r = baton("bench", "serve", "--url", "http://127.0.0.1:" + port, "--model", "m", "--num-prompts", "2",
                "--random-input-len", "4", "--random-output-len", "2", "--out", dir.toString(), "--progress", "off", "--no-warmup", "--timeout", "5");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("baton bench serve: endpoint check failed (http://127.0.0.1:" + port + "/v1/chat/completions): connect_error")
                .doesNotContain("\n");
    }

    @Test
    void benchAloneListsItsSubcommands() {
        Result r = baton("bench");
        assertThat(r.err()).contains("serve").contains("calibrate");
        assertThat(baton("bench", "serve", "--help").out()).contains("--request-rate").contains("--max-concurrency")
                .contains("--burstiness").contains("--sweep").contains("--slo");
    }

    @Test
    void calibrateReportsTheOverhead() {
        Result r = baton("bench", "calibrate", "--streams", "20", "--tokens", "5", "--itl-ms", "5", "--ttft-ms", "5",
                "--warmup", "0", "--progress", "off");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("completed 20/20").contains("ITL distortion").contains("every stream started").contains("verdict")
                .contains("per second of the round, gaps over 1 ms:").contains("per second of the round, JIT ms:")
                .containsPattern("--loop-priority (short-slice|normal)");   // what the default, auto, chose
        assertThat(baton("bench", "calibrate", "--tokens", "1").code()).isEqualTo(2);
    }
}
