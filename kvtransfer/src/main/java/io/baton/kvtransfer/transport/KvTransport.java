package io.baton.kvtransfer.transport;

import java.io.IOException;

/**
 * Moves frames between senders and receivers: TCP ({@link TcpKvTransport}) between processes, or direct calls
 * ({@link InProcessKvTransport}) inside one. The protocol (handshake, transfers, leases) lives in {@code KvSender} and
 * {@code KvReceiver}, the same for both.
 */
public interface KvTransport extends AutoCloseable {
    /** A receiver made reachable by {@link #serve}; closing it stops accepting and closes the links it accepted. */
    interface Endpoint extends AutoCloseable {
        /** The address to put in grants ({@code tcp://host:port}, {@code inproc://name}). */
        String address();

        @Override
        void close();
    }

    /** Makes a receiver reachable: every link opened to the endpoint's address delivers its frames to {@code receiver}. */
    Endpoint serve(FrameHandler receiver) throws IOException;

    /** Opens a link to the receiver at {@code address}; frames coming back go to {@code sender}. */
    Link connect(String address, FrameHandler sender) throws IOException;

    /** Closes every endpoint and link of this transport. */
    @Override
    void close();
}
