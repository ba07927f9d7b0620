package io.baton.kvtransfer;

/** A transfer that cannot start (refused grant, unreachable or incompatible peer), with a one-line message. */
public final class KvTransferException extends RuntimeException {
    private final FailureCode code;

    public KvTransferException(FailureCode code, String message) {
        super(message);
        this.code = code;
    }

    public KvTransferException(FailureCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public FailureCode code() {
        return code;
    }
}
