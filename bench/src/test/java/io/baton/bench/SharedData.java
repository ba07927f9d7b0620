package io.baton.bench;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests find {@code ../shared/data} (the build passes {@code baton.shared}). Without it tests skip with a
 * visible message, except when {@code BATON_REQUIRE_SHARED} is set (CI), where they fail.
 */
public final class SharedData {
    private SharedData() {}

    public static Path file(String relative) {
        Path dir = Path.of(System.getProperty("baton.shared", "../shared")).toAbsolutePath().normalize().resolve("data");
        Path f = dir.resolve(relative);
        if (!Files.isRegularFile(f)) {
            String msg = "SKIPPED: data file " + f + " not found (../shared beside the checkout)";
            if (System.getenv("BATON_REQUIRE_SHARED") != null) throw new AssertionError(msg.replace("SKIPPED", "MISSING"));
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        return f;
    }
}
