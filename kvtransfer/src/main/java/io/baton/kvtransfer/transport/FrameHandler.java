package io.baton.kvtransfer.transport;

import io.baton.kvtransfer.Frame;
import io.baton.kvtransfer.FrameCodec;
import io.baton.kvtransfer.FrameException;

/** What a transport tells the protocol side (a {@code KvSender} or {@code KvReceiver}) about one of its links. */
public interface FrameHandler {
    /**
     * A frame arrived on {@code link}. A DATA frame's segments are valid only during the call. Called on the link's
     * reader thread (TCP) or on the sending thread (in-process); must not throw.
     */
    void onFrame(Link link, Frame frame);

    /**
     * A transport that reads from a stream (TCP) asks this before reading a DATA frame's payload: where should the
     * payload go? Null (the default): into the transport's buffer, then {@link #onFrame} as usual. Called on the link's
     * reader thread with a validated header; must not throw.
     */
    default PayloadSink sinkFor(Link link, FrameCodec.DataHeader header) {
        return null;
    }

    /** A frame was lost (bad payload checksum) but the link is intact: fail only its transfer. */
    void onBadFrame(Link link, FrameException e);

    /** The link is gone (closed by either side, EOF, I/O error, unreadable stream). Called once per link. */
    void onClosed(Link link, String reason);
}
