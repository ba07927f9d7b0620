package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.kvtransfer.transport.FrameHandler;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.Link;
import io.baton.kvtransfer.transport.PayloadSink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The decode side of the KV transfer (docs/kv-transfer.md): issues {@link KvGrant}s for blocks the worker reserved,
 * accepts links from senders (checking protocol version, model fingerprint and KV dimensions), writes arriving rows
 * into those blocks, acknowledges complete transfers and expires leases. Every granted transfer ends in exactly one
 * call of its {@link TransferListener}: {@code succeeded} (admit the request) or {@code failed} (free its blocks).
 *
 * <p>Thread-safe. Frames are handled on the transport's threads; leases expire on this receiver's timer thread.
 */
public final class KvReceiver implements FrameHandler, AutoCloseable {
    /** Lease of {@link #grant(BlockTable, int, TransferListener)}: long enough for a 32k-token prompt on a slow link. */
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    /** Finished transfers remembered, so that late frames are told apart from frames of transfers never granted. */
    static final int REMEMBERED = 4096;
    /** After a transfer fails while a payload is being read into its blocks, how long that read may go on before the link is closed. */
    static final long STALL_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private static final System.Logger LOG = System.getLogger(KvReceiver.class.getName());

    private final KvStorage storage;
    private final KvLayout layout;
    private final ModelFingerprint fingerprint;
    private final KvTransport.Endpoint endpoint;
    private final String address;
    private final KvTransferStats stats = new KvTransferStats();
    private final Map<Long, IncomingTransfer> transfers = new ConcurrentHashMap<>();
    /** Outcome of recently finished transfers: null value = succeeded, else the failure code (access synchronized). */
    private final Map<Long, FailureCode> finished = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, FailureCode> e) {
            return size() > REMEMBERED;
        }
    };
    private final Set<Link> greeted = ConcurrentHashMap.newKeySet();
    private final LeaseTimer timer;
    private volatile boolean closed;

    /**
     * A receiver writing into {@code storage}, reachable through {@code transport} (it serves an endpoint there, and
     * closes only that endpoint when closed).
     *
     * @throws UncheckedIOException if the transport cannot serve (e.g. the port is taken)
     */
    public KvReceiver(KvStorage storage, ModelFingerprint fingerprint, KvTransport transport) {
        this.storage = storage;
        this.layout = storage.layout();
        this.fingerprint = fingerprint;
        this.timer = new LeaseTimer("kv-receiver-leases");
        try {
            this.endpoint = transport.serve(this);
            this.address = endpoint.address();
        } catch (IOException e) {
            timer.close();
            throw new UncheckedIOException("KV receiver cannot listen: " + e.getMessage(), e);
        }
    }

    /** Where senders reach this receiver (the grants' destination). */
    public String address() {
        return address;
    }

    public KvTransferStats stats() {
        return stats;
    }

    /** Transfers granted and not finished. */
    public int liveTransfers() {
        return transfers.size();
    }

    /** {@link #grant(BlockTable, int, Duration, TransferListener)} with {@link #DEFAULT_LEASE}. */
    public KvGrant grant(BlockTable table, int tokens, TransferListener listener) {
        return grant(table, tokens, DEFAULT_LEASE, listener);
    }

    /**
     * Registers a transfer of tokens {@code 0 .. tokens-1} into {@code table}'s blocks, which the caller has reserved
     * for this transfer alone, and returns the grant to hand to the prefill worker. From now on the blocks are written
     * only by this transfer, and {@code listener} hears the outcome exactly once, at the latest when {@code lease} ends.
     */
    public KvGrant grant(BlockTable table, int tokens, Duration lease, TransferListener listener) {
        if (closed) throw new IllegalStateException("KV receiver is closed");
        if (table.blockSize() != layout.blockSize()) {
            throw new IllegalArgumentException("block table of block size " + table.blockSize() + " for storage of block size " + layout.blockSize());
        }
        if (tokens <= 0 || tokens > table.capacity()) {
            throw new IllegalArgumentException("cannot grant " + tokens + " tokens into " + table.size() + " blocks (" + table.capacity() + " tokens)");
        }
        for (int i = 0; i < table.size(); i++) {
            if (table.blockId(i) < 0 || table.blockId(i) >= storage.numBlocks()) throw new IllegalArgumentException("block id " + table.blockId(i) + " outside the storage");
        }
        long deadline = System.currentTimeMillis() + lease.toMillis();
        while (true) {
            long id = ThreadLocalRandom.current().nextLong();
            if (id == 0) continue;
            KvGrant g = new KvGrant(id, address, layout, table.toArray(), tokens, deadline, fingerprint);
            IncomingTransfer t = new IncomingTransfer(g, table, listener);
            if (transfers.putIfAbsent(id, t) != null) continue;
            stats.started.increment();
            stats.live.increment();
            synchronized (t) {
                t.lease = timer.after(lease.toNanos(), () -> expire(t));
            }
            return g;
        }
    }

    /** Gives up a transfer (the request was cancelled): the sender is told, the listener hears {@code CANCELLED}. */
    public void cancel(long transferId, String why) {
        IncomingTransfer t = transfers.get(transferId);
        if (t != null) fail(t, FailureCode.CANCELLED, false, "transfer " + KvGrant.idText(transferId) + " cancelled: " + why, true);
    }

    private void expire(IncomingTransfer t) {
        String progress;
        synchronized (t) {
            progress = t.progress();
        }
        String msg = "KV transfer " + t.grant.idText() + " lease expired on the receiver with " + progress + " landed";
        if (fail(t, FailureCode.LEASE_EXPIRED, false, msg, true)) LOG.log(Level.WARNING, msg);
    }

    // ---- frames ----

    @Override
    public void onFrame(Link link, Frame frame) {
        try {
            if (!greeted.contains(link)) {
                if (frame instanceof Frame.Hello h) handshake(link, h);
                else refuse(link, FailureCode.BAD_FRAME, "first frame on a KV link must be HELLO, got " + frame.getClass().getSimpleName());
                return;
            }
            switch (frame) {
                case Frame.Data d -> onData(link, d);
                case Frame.Abort a -> onPeerFailure(a.transferId(), a.code(), a.message());
                case Frame.Error e when e.transferId() != 0 -> onPeerFailure(e.transferId(), e.code(), e.message());
                case Frame.Error e -> link.close("sender reported " + e.code() + ": " + e.message());
                default -> refuse(link, FailureCode.BAD_FRAME, "unexpected " + frame.getClass().getSimpleName() + " from a sender");
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "KV receiver failed on a frame from " + link.peer(), e);
            stats.badFrames.increment();
            if (frame.transferId() != 0) {
                IncomingTransfer t = transfers.get(frame.transferId());
                if (t != null) fail(t, FailureCode.INTERNAL, false, "receiver error on transfer " + t.grant.idText() + ": " + e, true);
            }
        }
    }

    private void handshake(Link link, Frame.Hello h) {
        KvLayout theirs = h.layout();
        if (!h.fingerprint().equals(fingerprint)) {
            refuse(link, FailureCode.MODEL_MISMATCH, "KV from model " + h.fingerprint() + " refused by a decode worker running model " + fingerprint);
        } else if (!sameDimensions(theirs, layout)) {
            refuse(link, FailureCode.LAYOUT_MISMATCH, "KV layout mismatch: sender has " + dims(theirs) + ", receiver " + dims(layout));
        } else {
            greeted.add(link);
            stats.linksOpened.increment();
            send(link, new Frame.Welcome(fingerprint, layout));
        }
    }

    static boolean sameDimensions(KvLayout a, KvLayout b) {
        return a.layers() == b.layers() && a.kvHeads() == b.kvHeads() && a.headDim() == b.headDim() && a.valueDim() == b.valueDim();
    }

    static String dims(KvLayout l) {
        return l.layers() + " layers x " + l.kvHeads() + " KV heads x " + l.headDim() + "/" + l.valueDim() + " dims";
    }

    private void refuse(Link link, FailureCode code, String message) {
        stats.linksRefused.increment();
        LOG.log(Level.WARNING, "KV link from " + link.peer() + " refused: " + message);
        send(link, new Frame.Error(0, code, message));
        link.close(message);
    }

    private void onData(Link link, Frame.Data d) {
        stats.framesReceived.increment();
        stats.bytesReceived.add(d.payloadBytes());
        IncomingTransfer t = transfers.get(d.transferId());
        if (t == null) {
            dropUnknown(link, d.transferId());
            return;
        }
        String bad = check(t, d);
        if (bad != null) {
            stats.badFrames.increment();
            failAndTell(t, FailureCode.BAD_FRAME, bad, link);
            return;
        }
        boolean complete = false;
        synchronized (t) {
            if (t.isFinal()) {
                stats.framesDropped.increment();
                return;
            }
            if (t.link == null) {
                t.link = link;
                t.state = IncomingTransfer.State.RECEIVING;
            } else if (t.link != link) {
                bad = "transfer " + t.grant.idText() + " sent over a second link";
            }
            if (bad == null) {
                RowLander.land(storage, t.table, d);
                int dup = t.markLanded(d.layer(), d.firstToken(), d.count());
                if (dup > 0) stats.rowsDuplicated.add(dup);
                if (t.allLanded()) {
                    t.state = IncomingTransfer.State.COMPLETE;
                    complete = true;
                }
            }
        }
        if (bad != null) {
            stats.badFrames.increment();
            failAndTell(t, FailureCode.BAD_FRAME, bad, link);
        } else if (complete) {
            succeed(t);
        }
    }

    /**
     * Reads a DATA payload straight into the transfer's blocks when that is safe and needs no conversion: a live
     * transfer of this link, a frame that fits it, the storage type on the wire. Anything else (unknown or finished
     * transfers, bad frames, conversions) goes through {@link #onFrame}, which answers it as usual.
     */
    @Override
    public PayloadSink sinkFor(Link link, FrameCodec.DataHeader h) {
        if (!greeted.contains(link) || h.wire().kvType != layout.type()) return null;
        IncomingTransfer t = transfers.get(h.transferId());
        if (t == null || h.layer() >= layout.layers() || (long) h.firstToken() + h.count() > t.grant.tokens()) return null;
        long kRow = (long) layout.kRowWidth() * layout.type().bytes, vRow = (long) layout.vRowWidth() * layout.type().bytes;
        if (h.kBytes() != h.count() * kRow || h.length() != h.count() * (kRow + vRow)) return null;
        synchronized (t) {
            if (t.isFinal() || (t.link != null && t.link != link)) return null;
            if (t.link == null) {
                t.link = link;
                t.state = IncomingTransfer.State.RECEIVING;
            }
            t.writers++;
        }
        stats.framesReceived.increment();
        stats.bytesReceived.add(h.length());
        // K spans then V spans, one per run of consecutive destination block ids: the payload's order.
        List<ByteBuffer> k = new ArrayList<>(), v = new ArrayList<>();
        int end = h.firstToken() + h.count();
        for (int p = h.firstToken(); p < end; ) {
            int n = BlockRuns.length(t.table, p, end, Integer.MAX_VALUE);
            k.add(storage.kRows(h.layer(), t.table.blockOf(p), t.table.slotOf(p), n).asByteBuffer());
            v.add(storage.vRows(h.layer(), t.table.blockOf(p), t.table.slotOf(p), n).asByteBuffer());
            p += n;
        }
        k.addAll(v);
        ByteBuffer[] targets = k.toArray(ByteBuffer[]::new);
        return new PayloadSink() {
            @Override
            public ByteBuffer[] targets() {
                return targets;
            }

            @Override
            public void landed(boolean intact) {
                endWrite(link, t, h, intact ? null : "payload checksum mismatch in a frame of transfer " + t.grant.idText(), false);
            }

            @Override
            public void abandoned() {
                endWrite(link, t, h, null, true);
            }
        };
    }

    /**
     * A payload read into {@code t}'s blocks ended ({@code corrupt}: why its checksum failed, else null; {@code abandoned}:
     * the link failed before it was all read): its rows count as landed if it arrived intact while the transfer was
     * live; a corrupt one fails the transfer (the link stays in step); a deferred failure is told now that no write is
     * left.
     */
    private void endWrite(Link link, IncomingTransfer t, FrameCodec.DataHeader h, String corrupt, boolean abandoned) {
        TransferFailure late = null;
        boolean complete = false, live;
        synchronized (t) {
            t.writers--;
            live = !t.isFinal();
            if (!live) {
                if (t.writers == 0 && t.deferred != null) {
                    late = t.deferred;
                    t.deferred = null;
                }
            } else if (!abandoned && corrupt == null) {
                int dup = t.markLanded(h.layer(), h.firstToken(), h.count());
                if (dup > 0) stats.rowsDuplicated.add(dup);
                if (t.allLanded()) {
                    t.state = IncomingTransfer.State.COMPLETE;
                    complete = true;
                }
            }
        }
        if (late != null) notify(t, late);
        if (live && corrupt != null) {
            stats.badFrames.increment();
            failAndTell(t, FailureCode.CHECKSUM, corrupt, link);
        }
        if (complete) succeed(t);
        // Abandoned: the link is closing, and onClosed fails the transfer (CONNECTION_LOST).
    }

    /** Why a DATA frame does not fit its transfer, or null. */
    private String check(IncomingTransfer t, Frame.Data d) {
        if (d.layer() >= layout.layers()) return "layer " + d.layer() + " of a model with " + layout.layers();
        if ((long) d.firstToken() + d.count() > t.grant.tokens()) {
            return "tokens " + d.firstToken() + "+" + d.count() + " beyond the " + t.grant.tokens() + " granted";
        }
        return RowLander.checkLengths(layout, d);
    }

    private void dropUnknown(Link link, long id) {
        stats.framesDropped.increment();
        FailureCode outcome;
        boolean known;
        synchronized (finished) {
            known = finished.containsKey(id);
            outcome = finished.get(id);
        }
        if (!known) {
            send(link, new Frame.Error(id, FailureCode.UNKNOWN_TRANSFER, "no KV grant " + KvGrant.idText(id) + " at " + address));
        } else if (outcome != null) {
            send(link, new Frame.Abort(id, outcome, "transfer " + KvGrant.idText(id) + " already failed: " + outcome));
        }
        // A late frame of a completed transfer is dropped silently: its ACK went out already.
    }

    @Override
    public void onBadFrame(Link link, FrameException e) {
        stats.badFrames.increment();
        IncomingTransfer t = transfers.get(e.transferId());
        if (t != null) failAndTell(t, e.code(), "transfer " + t.grant.idText() + ": " + e.getMessage(), link);
        else stats.framesDropped.increment();
    }

    private void onPeerFailure(long id, FailureCode code, String message) {
        IncomingTransfer t = transfers.get(id);
        if (t == null) {
            stats.framesDropped.increment();
            return;
        }
        fail(t, code, true, "sender gave up transfer " + t.grant.idText() + ": " + code + ": " + message, false);
    }

    @Override
    public void onClosed(Link link, String reason) {
        if (greeted.remove(link)) stats.linksLost.increment();
        List<IncomingTransfer> bound = new ArrayList<>();
        for (IncomingTransfer t : transfers.values()) {
            synchronized (t) {
                if (t.link == link && !t.isFinal()) bound.add(t);
            }
        }
        for (IncomingTransfer t : bound) {
            fail(t, FailureCode.CONNECTION_LOST, false, "KV link of transfer " + t.grant.idText() + " lost: " + reason, false);
        }
    }

    // ---- outcomes ----

    private void succeed(IncomingTransfer t) {
        synchronized (t) {
            if (t.lease != null) t.lease.cancel(false);
        }
        transfers.remove(t.grant.transferId());
        remember(t.grant.transferId(), null);
        stats.succeeded.increment();
        stats.live.decrement();
        send(t.link, new Frame.Ack(t.grant.transferId()));
        notify(t, null);
    }

    /** Fails {@code t} because of what its sender sent on {@code link}, and tells it there. */
    private void failAndTell(IncomingTransfer t, FailureCode code, String message, Link link) {
        if (fail(t, code, false, message, false)) send(link, new Frame.Error(t.grant.transferId(), code, message));
    }

    /**
     * Moves {@code t} to FAILED if it is not final yet, tells the sender (an ABORT, when asked and a link is known) and
     * the listener. Returns false if the transfer had already ended (nothing done).
     */
    private boolean fail(IncomingTransfer t, FailureCode code, boolean fromPeer, String message, boolean abortPeer) {
        Link link;
        TransferFailure failure = new TransferFailure(code, fromPeer, message);
        boolean writing;
        synchronized (t) {
            if (t.isFinal()) return false;
            t.state = IncomingTransfer.State.FAILED;
            link = t.link;
            if (t.lease != null) t.lease.cancel(false);
            writing = t.writers > 0;
            if (writing) t.deferred = failure; // the payload being read into the blocks finishes first: see endWrite
        }
        transfers.remove(t.grant.transferId());
        remember(t.grant.transferId(), code);
        stats.countFailure(code);
        stats.live.decrement();
        if (abortPeer && link != null) send(link, new Frame.Abort(t.grant.transferId(), code, message));
        if (!writing) {
            notify(t, failure);
        } else {
            // A read into its blocks still going on after the grace means the sender stalled inside a frame: close the
            // link, which ends the read, so the blocks are not held for as long as the socket hangs.
            Link l = link;
            String why = "a read into the blocks of transfer " + t.grant.idText() + " went on after it ended";
            try {
                timer.after(STALL_GRACE_NANOS, () -> {
                    boolean stuck;
                    synchronized (t) {
                        stuck = t.writers > 0;
                    }
                    if (stuck) l.close(why);
                });
            } catch (RejectedExecutionException e) {
                l.close(why); // the receiver is closing: no grace
            }
        }
        return true;
    }

    private void remember(long id, FailureCode outcome) {
        synchronized (finished) {
            finished.put(id, outcome);
        }
    }

    private void notify(IncomingTransfer t, TransferFailure failure) {
        try {
            if (failure == null) t.listener.succeeded(t.grant.transferId());
            else t.listener.failed(t.grant.transferId(), failure);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "KV transfer listener threw for " + t.grant.idText(), e);
        }
    }

    private void send(Link link, Frame f) {
        try {
            link.send(List.of(f));
        } catch (IOException e) {
            // The link is closed and onClosed fails what was bound to it; a lost control frame costs the peer a lease.
            LOG.log(Level.DEBUG, "KV control frame to " + link.peer() + " lost: " + e.getMessage());
        }
    }

    /** Fails every live transfer with {@code SHUTDOWN} (telling senders) and stops serving. */
    @Override
    public void close() {
        closed = true;
        for (IncomingTransfer t : List.copyOf(transfers.values())) {
            fail(t, FailureCode.SHUTDOWN, false, "KV receiver " + address + " shutting down", true);
        }
        timer.close();
        endpoint.close();
    }
}
