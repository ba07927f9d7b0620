package io.baton.kvtransfer;

/**
 * Bytes that are not a valid frame. {@link #recoverable()} says whether the stream is still in step (the header was
 * intact, only the payload was bad, and the decoder skipped the frame) so that only transfer {@link #transferId()}
 * fails; otherwise the link cannot be trusted and must be closed.
 */
public final class FrameException extends Exception {
    private final FailureCode code;
    private final long transferId;
    private final boolean recoverable;

    public FrameException(FailureCode code, String message) {
        this(code, message, 0, false);
    }

    public FrameException(FailureCode code, String message, long transferId, boolean recoverable) {
        super(message, null, false, false);
        this.code = code;
        this.transferId = transferId;
        this.recoverable = recoverable;
    }

    public FailureCode code() {
        return code;
    }

    public long transferId() {
        return transferId;
    }

    public boolean recoverable() {
        return recoverable;
    }
}
