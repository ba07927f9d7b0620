package io.baton.cli;

import com.sun.net.httpserver.HttpServer;
import io.baton.engine.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --model hf://...} against a local hub (no internet here): download once, resume, verify the checksum. */
class HubModelsTest {
    @TempDir
    Path cache;
    HttpServer hub;
    byte[] file;
    String sha;
    /** The Range header of each request ("" when none). */
    final List<String> ranges = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        Path model = Fixtures.model("stories260K.gguf");
        file = Files.readAllBytes(model);
        sha = HubModels.sha256(model);
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/owner/repo/resolve/main/", ex -> {
            String range = ex.getRequestHeaders().getFirst("Range");
            ranges.add(range == null ? "" : range);
            if (!ex.getRequestURI().getPath().endsWith("/stories260K.gguf")) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            int from = range == null ? 0 : Integer.parseInt(range.replace("bytes=", "").replace("-", ""));
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + (ex.getRequestURI().getQuery() == null ? sha : "0".repeat(64)) + "\"");
            ex.sendResponseHeaders(range == null ? 200 : 206, file.length - from);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(file, from, file.length - from);
            }
        });
        hub.start();
        System.setProperty("baton.cache.dir", cache.toString());
        System.setProperty("baton.hf.endpoint", "http://127.0.0.1:" + hub.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        hub.stop(0);
        System.clearProperty("baton.cache.dir");
        System.clearProperty("baton.hf.endpoint");
    }

    @Test
    void downloadsOnceThenUsesTheCache() {
        String[] args = {"generate", "--model", "hf://owner/repo/stories260K.gguf", "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "8"};
        CliRunner.Result first = CliRunner.run(args);
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).isNotBlank();
        Path cached = cache.resolve("hf/owner/repo/stories260K.gguf");
        assertThat(cached).hasBinaryContent(file);
        CliRunner.Result second = CliRunner.run(args);
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(ranges).hasSize(1); // the second run read the cache
    }

    @Test
    void resumesAPartialDownload() throws Exception {
        Path target = cache.resolve("hf/owner/repo/stories260K.gguf");
        Files.createDirectories(target.getParent());
        Files.write(target.resolveSibling("stories260K.gguf.part"), Arrays.copyOf(file, file.length / 3));
        assertThat(HubModels.resolve("hf://owner/repo/stories260K.gguf")).isEqualTo(target);
        assertThat(ranges).containsExactly("bytes=" + file.length / 3 + "-");
        assertThat(target).hasBinaryContent(file);
    }

    @Test
    void refusesAChecksumMismatchAndMissingFiles() {
        CliRunner.Result bad = CliRunner.run("generate", "--model", "hf://owner/repo/nope.gguf", "--prompt", "x");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("HTTP 404");
        System.setProperty("baton.hf.endpoint", System.getProperty("baton.hf.endpoint") + "/");
        Path target = cache.resolve("hf/owner/repo/stories260K.gguf");
        // The local hub announces a wrong checksum when asked with a query string.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HubModels.download(
                        java.net.URI.create(System.getProperty("baton.hf.endpoint") + "owner/repo/resolve/main/stories260K.gguf?bad"), target, System.err))
                .hasMessageContaining("checksum mismatch");
        assertThat(target).doesNotExist();
        assertThat(CliRunner.run("generate", "--model", "hf://owner-only", "--prompt", "x").err()).contains("hf://OWNER/REPO/FILE.gguf");
    }
}
