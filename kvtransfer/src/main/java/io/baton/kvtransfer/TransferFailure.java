package io.baton.kvtransfer;

/**
 * How a transfer ended when it did not succeed.
 *
 * @param code     why
 * @param fromPeer whether the other side reported it (an ABORT or ERROR frame) rather than this side seeing it
 * @param message  one line for logs, with the transfer id
 */
public record TransferFailure(FailureCode code, boolean fromPeer, String message) {
    @Override
    public String toString() {
        return code + (fromPeer ? " (from peer)" : "") + ": " + message;
    }
}
