package io.baton.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;

/**
 * {@code --model hf://OWNER/REPO/FILE.gguf}: a model file from a Hugging Face-style hub, downloaded once into a cache
 * directory and used from there. The download goes to {@code FILE.part} first and resumes from it with an HTTP range
 * request; when the hub names the file's SHA-256 (Hugging Face sends it as {@code X-Linked-Etag} for LFS files) the
 * finished file is verified before it is moved into place.
 *
 * <p>Where: the cache is {@code ~/.cache/baton} unless {@code BATON_CACHE_DIR} (or {@code -Dbaton.cache.dir}) says
 * otherwise; the hub is {@code https://huggingface.co} unless {@code BATON_HF_ENDPOINT} (or
 * {@code -Dbaton.hf.endpoint}) says otherwise. Files are fetched from the {@code main} revision.
 */
final class HubModels {
    static final String SCHEME = "hf://";

    private HubModels() {}

    /** A local path for {@code spec}: itself, or the cached download of an {@code hf://} reference. */
    static Path resolve(String spec) {
        if (!spec.startsWith(SCHEME)) return Path.of(spec);
        String ref = spec.substring(SCHEME.length());
        String[] parts = ref.split("/", 3);
        if (parts.length < 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank() || ref.contains("..")) {
            throw new IllegalArgumentException("model reference must be hf://OWNER/REPO/FILE.gguf, got '" + spec + "'");
        }
        Path cache = Path.of(setting("baton.cache.dir", "BATON_CACHE_DIR", System.getProperty("user.home") + "/.cache/baton"));
        Path target = cache.resolve("hf").resolve(parts[0]).resolve(parts[1]).resolve(parts[2]);
        if (Files.isRegularFile(target)) return target;
        String base = setting("baton.hf.endpoint", "BATON_HF_ENDPOINT", "https://huggingface.co").replaceAll("/+$", "");
        URI uri = URI.create(base + "/" + parts[0] + "/" + parts[1] + "/resolve/main/" + parts[2]);
        try {
            download(uri, target, System.err);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot download " + spec + " from " + uri + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while downloading " + spec, e);
        }
        return target;
    }

    private static String setting(String property, String env, String dflt) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? dflt : v;
    }

    static void download(URI uri, Path target, PrintStream progress) throws IOException, InterruptedException {
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(30)).build();
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).GET();
        if (have > 0) req.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> resp = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        int status = resp.statusCode();
        if (status != 200 && status != 206) {
            resp.body().close();
            throw new IOException("HTTP " + status);
        }
        if (status == 200) have = 0; // the server ignored the range: start over
        long total = resp.headers().firstValueAsLong("Content-Length").orElse(-1) + (status == 206 ? have : 0);
        String sha256 = resp.headers().firstValue("X-Linked-Etag").or(() -> resp.headers().firstValue("ETag"))
                .map(t -> t.replace("\"", "").replace("W/", "").toLowerCase(Locale.ROOT))
                .filter(t -> t.matches("[0-9a-f]{64}")).orElse(null);
        try (InputStream in = resp.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, status == 206 ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            long done = have, shown = -1;
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                done += n;
                long pct = total > 0 ? done * 100 / total : -1;
                if (pct != shown) {
                    progress.print("\rdownloading " + target.getFileName() + " " + bar(pct) + " " + (done >> 20) + " MiB" + (total > 0 ? " / " + (total >> 20) + " MiB" : ""));
                    shown = pct;
                }
            }
            progress.println();
        }
        if (total > 0 && Files.size(part) != total) throw new IOException("incomplete download (" + Files.size(part) + " of " + total + " bytes); run again to resume");
        if (sha256 != null) {
            String got = sha256(part);
            if (!got.equals(sha256)) {
                Files.delete(part);
                throw new IOException("checksum mismatch: the hub says sha256 " + sha256 + ", the download has " + got);
            }
        }
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String bar(long pct) {
        if (pct < 0) return "";
        int filled = (int) (pct / 5);
        return "[" + "=".repeat(filled) + " ".repeat(20 - filled) + "] " + pct + "%";
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
