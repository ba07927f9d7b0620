package io.baton.rpc;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a worker's control RPC listens. Its text form, {@code HOST:PORT} ({@code [::1]:PORT} for IPv6), is also the
 * worker's name at the router (metrics labels, logs).
 */
public record WorkerEndpoint(String host, int port) {
    public WorkerEndpoint {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("worker host must not be blank");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("worker port must be in [1, 65535], got " + port);
    }

    /** Parses {@code HOST:PORT} or {@code [IPV6]:PORT}; an optional {@code grpc://} or {@code http://} prefix is ignored. */
    public static WorkerEndpoint parse(String s) {
        String t = s.trim();
        for (String scheme : List.of("grpc://", "http://")) if (t.startsWith(scheme)) t = t.substring(scheme.length());
        if (t.endsWith("/")) t = t.substring(0, t.length() - 1);
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) throw new IllegalArgumentException("expected HOST:PORT, got '" + s + "'");
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + s + "' (the port is not a number)");
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port must be in [1, 65535] in '" + s + "'");
        return new WorkerEndpoint(host, port);
    }

    /** A comma-separated list of {@link #parse} forms (empty entries are skipped). */
    public static List<WorkerEndpoint> parseList(String s) {
        List<WorkerEndpoint> out = new ArrayList<>();
        for (String part : s.split(",")) if (!part.isBlank()) out.add(parse(part));
        return out;
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
