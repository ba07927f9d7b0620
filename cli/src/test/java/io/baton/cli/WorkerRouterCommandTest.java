package io.baton.cli;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad options of {@code baton worker} and {@code baton router} fail with one line and exit 1, before loading anything. */
class WorkerRouterCommandTest {

    @Test
    void badOptionsFailWithOneLine() {
        for (List<String> args : List.of(
                List.of("worker", "--role", "both", "--model", "x.gguf"),
                List.of("worker", "--role", "decode", "--model", "/nonexistent/model.gguf"),
                List.of("worker", "--role", "decode", "--model", "x.gguf", "--router", "localhost"),
                List.of("worker", "--role", "decode", "--model", "x.gguf", "--kv-memory", "lots"),
                List.of("worker", "--model", "x.gguf"),
                List.of("router", "--model", "x.gguf"),
                List.of("router", "--model", "x.gguf", "--workers", "a:1,b"),
                List.of("router", "--model", "x.gguf", "--workers", "a:1", "--worker-timeout", "0s"),
                List.of("router", "--model", "x.gguf", "--workers", "a:1", "--policy", "random"),
                List.of("router", "--model", "/nonexistent/model.gguf", "--workers", "a:1", "--port", "0"))) {
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(args.toString()).isEqualTo(Main.EXIT_ERROR);
            assertThat(r.err()).as(args.toString()).startsWith("baton: error: ");
            assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void durations() {
        assertThat(RouterCommand.parseDuration("3s", "x")).isEqualTo(Duration.ofSeconds(3));
        assertThat(RouterCommand.parseDuration("500ms", "x")).isEqualTo(Duration.ofMillis(500));
        assertThat(RouterCommand.parseDuration("1.5", "x")).isEqualTo(Duration.ofMillis(1500));
        assertThat(RouterCommand.parseDuration("2m", "x")).isEqualTo(Duration.ofMinutes(2));
        for (String bad : List.of("", "s", "0", "-1s", "0.1ms", "soon", "NaN")) {
            assertThatThrownBy(() -> RouterCommand.parseDuration(bad, "--worker-timeout")).as(bad).hasMessageContaining("--worker-timeout");
        }
    }
}
