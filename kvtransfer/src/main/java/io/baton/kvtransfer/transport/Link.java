package io.baton.kvtransfer.transport;

import io.baton.kvtransfer.Frame;

import java.io.IOException;
import java.util.List;

/** One end of a connection between a sender and a receiver, carrying frames of many transfers. */
public interface Link {
    /**
     * Sends frames in order, as one unit (frames of concurrent calls never interleave inside a call). Thread-safe. The
     * DATA frames' segments are read before this returns and may be reused afterwards.
     *
     * @throws IOException when the link is broken (it is then closed and its handler told)
     */
    void send(List<? extends Frame> frames) throws IOException;

    /** Closes the link; both handlers hear {@link FrameHandler#onClosed} once. Idempotent. */
    void close(String reason);

    boolean isOpen();

    /** The other end, for log lines. */
    String peer();
}
