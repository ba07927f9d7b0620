package io.baton.kvtransfer.transport;

import java.nio.ByteBuffer;

/**
 * Where a DATA frame's payload goes straight from the socket (the receiver's own KV blocks), so a TCP reader need not
 * read it into a buffer and copy it again. Made by {@link FrameHandler#sinkFor}; the reader then calls exactly one of
 * {@link #landed} and {@link #abandoned}.
 */
public interface PayloadSink {
    /** The destination, in payload order: their remaining bytes add up to the payload length. */
    ByteBuffer[] targets();

    /** The whole payload is in the targets; {@code intact}: its CRC32C matched the header's. */
    void landed(boolean intact);

    /** The link failed before the payload was all in place (it is being closed). */
    void abandoned();
}
