package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.Link;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The prefill side of the KV transfer (docs/kv-transfer.md): pushes requests' prompt KV from this worker's blocks to
 * the receivers named by their grants, one reused link per receiver address with many transfers multiplexed on it.
 * Every transfer that {@link #start} returns ends in exactly one call of its {@link TransferListener}:
 * {@code succeeded} (the receiver has everything: free the blocks) or {@code failed} (free them too), and never
 * while this sender still reads the transfer's blocks.
 *
 * <p>Thread-safe.
 */
public final class KvSender implements AutoCloseable {
    /** Work items (a layer's rows of one chunk) queued per link before compute threads wait. */
    public static final int QUEUE_CAPACITY = 4096;
    /** Longest wait for a receiver's answer to HELLO. */
    static final long HANDSHAKE_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** After a lease ends while its rows are being written, how long the write may go on before the link is closed. */
    static final long STALL_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private static final System.Logger LOG = System.getLogger(KvSender.class.getName());

    private final KvStorage storage;
    private final KvLayout layout;
    private final ModelFingerprint fingerprint;
    private final KvTransport transport;
    private final WireType wire;
    private final KvTransferStats stats = new KvTransferStats();
    private final Map<Long, OutgoingTransfer> transfers = new ConcurrentHashMap<>();
    private final Map<String, SenderLink> links = new HashMap<>();
    private final LeaseTimer timer = new LeaseTimer("kv-sender-leases");
    private volatile boolean closed;

    /**
     * A sender reading from {@code storage}.
     *
     * @param wire the wire type of every frame, or null to send the storage type's bytes unchanged
     */
    public KvSender(KvStorage storage, ModelFingerprint fingerprint, KvTransport transport, WireType wire) {
        this.storage = storage;
        this.layout = storage.layout();
        this.fingerprint = fingerprint;
        this.transport = transport;
        this.wire = wire == null ? WireType.of(layout.type()) : wire;
    }

    /** A sender of the storage type's bytes. */
    public KvSender(KvStorage storage, ModelFingerprint fingerprint, KvTransport transport) {
        this(storage, fingerprint, transport, null);
    }

    public KvTransferStats stats() {
        return stats;
    }

    public WireType wire() {
        return wire;
    }

    /** Transfers started and not finished. */
    public int liveTransfers() {
        return transfers.size();
    }

    /**
     * Starts pushing the KV of tokens {@code 0 .. grant.tokens()-1}, found through {@code source} in this worker's
     * storage, to the grant's receiver. Rows go out as the caller reports them ({@link OutgoingTransfer#layerReady}).
     * Either returns a transfer whose {@code listener} will hear its outcome once, or throws (and the listener is never
     * called: the caller still owns the blocks).
     *
     * @throws KvTransferException for a grant of another model or KV shape, an expired lease, or a receiver that cannot
     *                             be reached or refuses the link
     */
    public OutgoingTransfer start(KvGrant grant, BlockTable source, TransferListener listener) {
        if (closed) throw new KvTransferException(FailureCode.SHUTDOWN, "KV sender is closed");
        if (!grant.fingerprint().equals(fingerprint)) {
            throw new KvTransferException(FailureCode.MODEL_MISMATCH, "KV grant " + grant.idText() + " is for model "
                    + grant.fingerprint() + ", this worker runs model " + fingerprint);
        }
        if (!KvReceiver.sameDimensions(grant.layout(), layout)) {
            throw new KvTransferException(FailureCode.LAYOUT_MISMATCH, "KV grant " + grant.idText() + " expects "
                    + KvReceiver.dims(grant.layout()) + ", this worker has " + KvReceiver.dims(layout));
        }
        if (source.blockSize() != layout.blockSize() || source.capacity() < grant.tokens()) {
            throw new IllegalArgumentException("source table " + source + " (block size " + source.blockSize() + ") cannot hold the "
                    + grant.tokens() + " tokens of grant " + grant.idText());
        }
        long leaseNanos = TimeUnit.MILLISECONDS.toNanos(grant.leaseDeadlineMillis() - System.currentTimeMillis());
        if (leaseNanos <= 0) throw new KvTransferException(FailureCode.LEASE_EXPIRED, "KV grant " + grant.idText() + " has expired");
        long deadline = System.nanoTime() + leaseNanos;
        SenderLink link = linkTo(grant.destination(), HANDSHAKE_NANOS);
        if (deadline - System.nanoTime() <= 0) {
            throw new KvTransferException(FailureCode.LEASE_EXPIRED, "KV grant " + grant.idText() + " expired while connecting to " + grant.destination());
        }
        OutgoingTransfer t = new OutgoingTransfer(this, grant, source, listener, link, deadline);
        if (transfers.putIfAbsent(grant.transferId(), t) != null) {
            throw new IllegalStateException("KV transfer " + grant.idText() + " is already running");
        }
        if (!link.register(t)) {
            transfers.remove(grant.transferId());
            throw new KvTransferException(FailureCode.CONNECTION_LOST, "KV link to " + grant.destination() + " closed while starting " + grant.idText());
        }
        stats.started.increment();
        stats.live.increment();
        synchronized (t) {
            t.lease = timer.after(deadline - System.nanoTime(), () -> expire(t, "no acknowledgement"));
        }
        return t;
    }

    /** The open link to {@code address}, or a new one after a successful handshake. */
    private SenderLink linkTo(String address, long handshakeNanos) {
        synchronized (links) {
            SenderLink l = links.get(address);
            if (l != null && l.isOpen()) return l;
            l = new SenderLink(this, address, new FrameEncoder(storage, wire), QUEUE_CAPACITY);
            Link link;
            try {
                link = transport.connect(address, l);
            } catch (IOException e) {
                throw new KvTransferException(FailureCode.CONNECTION_LOST, e.getMessage(), e);
            }
            try {
                l.open(link, new Frame.Hello(fingerprint, layout), handshakeNanos);
            } catch (KvTransferException e) {
                stats.linksRefused.increment();
                throw e;
            }
            stats.linksOpened.increment();
            links.put(address, l);
            return l;
        }
    }

    // ---- outcomes ----

    /** The lease of {@code t} ended: fail it, tell the receiver, log; close the link if a write of its rows is stuck. */
    void expire(OutgoingTransfer t, String detail) {
        String msg = "KV transfer " + t.grant().idText() + " lease expired on the sender (" + detail + ")";
        if (!fail(t, FailureCode.LEASE_EXPIRED, false, msg, true)) return;
        LOG.log(Level.WARNING, msg);
        if (t.link().writing(t)) {
            timer.after(STALL_GRACE_NANOS, () -> {
                if (t.link().writing(t)) t.link().close("a write to " + t.link().address() + " stalled past a lease");
            });
        }
    }

    /** Ends {@code t} as failed (telling the receiver with an ABORT if asked); false if it had ended already. */
    boolean fail(OutgoingTransfer t, FailureCode code, boolean fromPeer, String message, boolean abortPeer) {
        if (!t.finish(new TransferFailure(code, fromPeer, message))) return false;
        ended(t);
        stats.countFailure(code);
        if (abortPeer) t.link().sendControl(new Frame.Abort(t.transferId(), code, message));
        return true;
    }

    void onAck(SenderLink link, long id) {
        OutgoingTransfer t = transfers.get(id);
        if (t == null || t.link() != link || !t.finish(null)) {
            stats.framesDropped.increment();
            return;
        }
        ended(t);
        stats.succeeded.increment();
    }

    void onPeerFailure(SenderLink link, long id, FailureCode code, String message) {
        OutgoingTransfer t = transfers.get(id);
        if (t == null || t.link() != link) {
            stats.framesDropped.increment();
            return;
        }
        fail(t, code, true, "receiver gave up transfer " + t.grant().idText() + ": " + code + ": " + message, false);
    }

    void onLinkClosed(SenderLink link, List<OutgoingTransfer> lost, String reason) {
        synchronized (links) {
            links.remove(link.address(), link);
        }
        if (!closed) stats.linksLost.increment();
        for (OutgoingTransfer t : lost) {
            fail(t, FailureCode.CONNECTION_LOST, false, "KV link of transfer " + t.grant().idText() + " lost: " + reason, false);
        }
    }

    private void ended(OutgoingTransfer t) {
        transfers.remove(t.transferId(), t);
        t.link().unregister(t);
        stats.live.decrement();
    }

    void notifyListener(OutgoingTransfer t, TransferListener listener, TransferFailure failure) {
        try {
            if (failure == null) listener.succeeded(t.transferId());
            else listener.failed(t.transferId(), failure);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "KV transfer listener threw for " + t.grant().idText(), e);
        }
    }

    /** Fails every live transfer with {@code SHUTDOWN} (telling receivers), then closes the links. */
    @Override
    public void close() {
        closed = true;
        for (OutgoingTransfer t : List.copyOf(transfers.values())) {
            fail(t, FailureCode.SHUTDOWN, false, "KV sender shutting down", true);
        }
        List<SenderLink> all;
        synchronized (links) {
            all = List.copyOf(links.values());
        }
        for (SenderLink l : all) l.shutdown(1_000);
        timer.close();
    }
}
