package io.baton.kvtransfer;

/**
 * The outcome of one transfer on one side, delivered exactly once: {@link #succeeded} or {@link #failed}. Each side
 * releases or hands over its own blocks here (see docs/kv-transfer.md, "Who frees what, when").
 *
 * <p>Called from a transport, timer or caller thread, never while the transfer code holds a lock; a worker whose
 * scheduler is single-threaded must pass the call to its step loop. Must not throw (an exception is logged and
 * otherwise ignored: the outcome stays delivered).
 */
public interface TransferListener {
    /** Receiver: every row has landed, admit the request. Sender: the receiver acknowledged, free the blocks. */
    void succeeded(long transferId);

    /** The transfer is over without success: free the blocks. */
    void failed(long transferId, TransferFailure failure);
}
