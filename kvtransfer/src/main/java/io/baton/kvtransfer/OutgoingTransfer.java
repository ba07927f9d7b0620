package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;

import java.util.Objects;
import java.util.concurrent.ScheduledFuture;

/**
 * One request's push from the prefill side, made by {@link KvSender#start}. The compute thread reports rows as they are
 * computed ({@link #layerReady}, {@link #allLayersReady}); the link's sender thread sends them. The transfer ends
 * DELIVERED (the receiver acknowledged) or FAILED, and its listener hears it once, but only after the sender thread has
 * stopped reading this transfer's source blocks, so the worker may free them in the listener.
 */
public final class OutgoingTransfer {
    enum State { STREAMING, DELIVERED, FAILED }

    private final KvSender sender;
    private final KvGrant grant;
    private final BlockTable source;
    private final TransferListener listener;
    private final SenderLink link;
    private final long deadlineNanos;
    private State state = State.STREAMING;
    /** Work items of this transfer whose frames the sender thread is building or writing. */
    private int inFlight;
    private boolean notified;
    private TransferFailure failure;
    ScheduledFuture<?> lease;

    OutgoingTransfer(KvSender sender, KvGrant grant, BlockTable source, TransferListener listener, SenderLink link, long deadlineNanos) {
        this.sender = sender;
        this.grant = grant;
        this.source = source;
        this.listener = listener;
        this.link = link;
        this.deadlineNanos = deadlineNanos;
    }

    public long transferId() {
        return grant.transferId();
    }

    public KvGrant grant() {
        return grant;
    }

    BlockTable source() {
        return source;
    }

    SenderLink link() {
        return link;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** Whether the transfer has ended (its listener may still be waiting for the sender thread to let go). */
    public synchronized boolean isDone() {
        return state != State.STREAMING;
    }

    /**
     * Rows of {@code layer} for tokens {@code [firstToken, firstToken + count)} are computed: send them. Returns at once
     * unless the link's queue is full (then waits for room, at most until the lease ends). Does nothing once the
     * transfer has ended.
     */
    public void layerReady(int layer, int firstToken, int count) {
        Objects.checkIndex(layer, grant.layout().layers());
        enqueue(layer, firstToken, count);
    }

    /** Rows of every layer for tokens {@code [firstToken, firstToken + count)} are in the blocks (e.g. a prefix-cache hit). */
    public void allLayersReady(int firstToken, int count) {
        enqueue(SenderLink.ALL_LAYERS, firstToken, count);
    }

    private void enqueue(int layer, int firstToken, int count) {
        checkRange(firstToken, count);
        if (isDone()) return;
        link.enqueue(new SenderLink.Work(this, layer, firstToken, count));
    }

    /** Throws if tokens {@code [firstToken, firstToken + count)} are not all part of this transfer. */
    void checkRange(int firstToken, int count) {
        Objects.checkFromIndexSize(firstToken, count, grant.tokens());
    }

    /** Gives up (the request was cancelled): the receiver is told, the listener hears {@code CANCELLED}. */
    public void abort(String why) {
        sender.fail(this, FailureCode.CANCELLED, false, "transfer " + grant.idText() + " cancelled: " + why, true);
    }

    // ---- state, driven by the sender thread, the link and the lease timer ----

    /** The sender thread starts on a work item of this transfer; false if the transfer has ended (skip the item). */
    synchronized boolean beginSend() {
        if (state != State.STREAMING) return false;
        inFlight++;
        return true;
    }

    /** The sender thread is done with a work item (its frames were written, or the link broke). */
    void endSend() {
        boolean deliver;
        synchronized (this) {
            inFlight--;
            deliver = inFlight == 0 && state != State.STREAMING && !notified;
            if (deliver) notified = true;
        }
        if (deliver) deliver();
    }

    synchronized boolean sending() {
        return inFlight > 0;
    }

    /**
     * Ends the transfer ({@code failure} null: delivered). Returns false if it had ended already. The listener is called
     * now, or by {@link #endSend} when the sender thread lets go of the source blocks.
     */
    boolean finish(TransferFailure failure) {
        synchronized (this) {
            if (state != State.STREAMING) return false;
            state = failure == null ? State.DELIVERED : State.FAILED;
            this.failure = failure;
            if (lease != null) lease.cancel(false);
            if (inFlight > 0) return true;
            notified = true;
        }
        deliver();
        return true;
    }

    private void deliver() {
        sender.notifyListener(this, listener, failure);
    }
}
