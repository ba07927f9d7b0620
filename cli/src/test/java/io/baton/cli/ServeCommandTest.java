package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code baton serve} as a user runs it: a separate JVM, its printed URL, a real HTTP client, a clean stop. */
@Timeout(120)
class ServeCommandTest {

    @Test
    void servesOverHttpWhatGenerateWritesAndStopsOnSigterm() throws Exception {
        String model = Fixtures.model("stories260K.gguf").toString();
        String java = ProcessHandle.current().info().command().orElse("java");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m", "-cp", cp, "io.baton.cli.Main", "serve", "--model", model, "--port", "0", "--threads", "1")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            java.util.function.Supplier<String> next = () -> {
                try {
                    return out.readLine();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            String first = CompletableFuture.supplyAsync(next).get(60, TimeUnit.SECONDS);
            // The default threshold is measured at startup on the decode worker (--disaggregation-threshold auto).
            assertThat(first).matches("Conditional disaggregation: prompts under \\d+ tokens are prefilled by the decode worker .*");
            String line = CompletableFuture.supplyAsync(next).get(60, TimeUnit.SECONDS);
            assertThat(line).matches("Baton listening on http://127\\.0\\.0\\.1:\\d+");
            String url = line.substring("Baton listening on ".length());
            assertThat(url).doesNotEndWith(":0");

            HttpClient http = HttpClient.newHttpClient();
            assertThat(http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
            String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":30,\"temperature\":0}";
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode j = new ObjectMapper().readTree(r.body());

            CliRunner.Result gen = CliRunner.run("generate", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "30",
                    "--temperature", "0", "--threads", "1");
            assertThat(gen.exit()).as(gen.err()).isZero();
            assertThat(j.at("/choices/0/text").asText() + "\n").isEqualTo(gen.out());
        } finally {
            p.destroy(); // SIGTERM: the shutdown hook closes the server
            boolean exited = p.waitFor(30, TimeUnit.SECONDS);
            if (!exited) p.destroyForcibly();
            assertThat(exited).as("serve stops on SIGTERM").isTrue();
        }
    }

    @Test
    void badOptionsFailWithOneLine() {
        for (List<String> args : List.of(
                List.of("serve", "--model", "/nonexistent/model.gguf", "--port", "0"),
                List.of("serve", "--model", "x.gguf", "--policy", "random"),
                List.of("serve", "--model", "x.gguf", "--kv-memory", "12Q"),
                List.of("serve", "--model", "x.gguf", "--port", "70000"),
                List.of("serve", "--model", "x.gguf", "--disaggregation-threshold", "soon"),
                List.of("serve", "--model", "x.gguf", "--disaggregation-threshold", "-3"))) {
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(args.toString()).isEqualTo(Main.EXIT_ERROR);
            assertThat(r.err()).as(args.toString()).startsWith("baton: error: ");
            assertThat(r.err().lines().count()).as(r.err()).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void sizes() {
        assertThat(ServeCommand.parseSize("512M", "x")).isEqualTo(512L << 20);
        assertThat(ServeCommand.parseSize("2g", "x")).isEqualTo(2L << 30);
        assertThat(ServeCommand.parseSize("64KiB", "x")).isEqualTo(64L << 10);
        assertThat(ServeCommand.parseSize("1000", "x")).isEqualTo(1000);
        for (String bad : List.of("", "M", "-1G", "0", "1.5G", "9999999999T")) {
            assertThatThrownBy(() -> ServeCommand.parseSize(bad, "--kv-memory")).hasMessageContaining("--kv-memory");
        }
    }
}
