package io.baton.kvtransfer;

/**
 * Why a transfer or a link failed. The code travels in ABORT and ERROR frames (as its {@link #wire} number) and reaches
 * the {@link TransferListener} in a {@link TransferFailure}.
 */
public enum FailureCode {
    /** The peer speaks another protocol version. */
    VERSION_MISMATCH(1),
    /** The peer runs another model (fingerprints differ). */
    MODEL_MISMATCH(2),
    /** The peer's KV dimensions (layers, heads, head sizes) differ. */
    LAYOUT_MISMATCH(3),
    /** A frame named a transfer the receiver never granted (or has forgotten). */
    UNKNOWN_TRANSFER(4),
    /** A frame was malformed or did not fit its transfer (range, lengths, missing handshake). */
    BAD_FRAME(5),
    /** A payload's CRC32C did not match. */
    CHECKSUM(6),
    /** The lease deadline passed before the transfer completed. */
    LEASE_EXPIRED(7),
    /** One side gave up on purpose (request cancelled). */
    CANCELLED(8),
    /** The sender or receiver is shutting down. */
    SHUTDOWN(9),
    /** The link broke (EOF, reset, unreadable stream); never sent, only reported locally. */
    CONNECTION_LOST(10),
    /** A programming error on the peer or here: an exception in the protocol code. */
    INTERNAL(11);

    /** The number in ABORT/ERROR frames. */
    public final int wire;

    FailureCode(int wire) {
        this.wire = wire;
    }

    /** The code of a wire number, or null if unknown. */
    public static FailureCode fromWire(int wire) {
        for (FailureCode c : values()) if (c.wire == wire) return c;
        return null;
    }
}
