package io.baton.engine;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests find {@code ../shared} (fixture models, llama.cpp references, tokenizer vectors). The build passes the
 * path as the system property {@code baton.shared}. Without the folder, tests skip with a visible message, except when
 * {@code BATON_REQUIRE_SHARED} is set (CI), where they fail.
 */
public final class Fixtures {
    private Fixtures() {}

    public static Path shared() {
        String p = System.getProperty("baton.shared", "../shared");
        Path dir = Path.of(p).toAbsolutePath().normalize();
        if (!Files.isDirectory(dir.resolve("models"))) {
            String msg = "SKIPPED: fixture folder " + dir + " not found (../shared beside the checkout)";
            if (System.getenv("BATON_REQUIRE_SHARED") != null) throw new AssertionError(msg.replace("SKIPPED", "MISSING"));
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        return dir;
    }

    public static Path model(String file) {
        return shared().resolve("models").resolve(file);
    }

    public static Path reference(String file) {
        return shared().resolve("reference").resolve(file);
    }
}
