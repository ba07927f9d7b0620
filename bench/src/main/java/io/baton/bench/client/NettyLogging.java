package io.baton.bench.client;

import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

/**
 * Netty logs through SLF4J whenever {@code slf4j-api} is on the class path (Jinjava brings it to the CLI), and SLF4J
 * without a provider prints three warning lines on every run. Bench sends Netty's few messages to
 * {@code java.util.logging} instead (the stack's other logging choice), so a failing run prints its one line only.
 */
public final class NettyLogging {
    private NettyLogging() {}

    /** Called before the first Vert.x instance of bench starts (setting it twice is harmless). */
    public static void install() {
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
    }
}
