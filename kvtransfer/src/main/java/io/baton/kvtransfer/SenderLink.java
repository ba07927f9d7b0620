package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.kvtransfer.transport.FrameHandler;
import io.baton.kvtransfer.transport.Link;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * The sender's side of one link to one receiver address, shared by every transfer to it: a bounded queue of work
 * items filled by compute threads, and one sender thread that turns them into DATA frames and writes them in batches.
 * Control frames from the receiver (ACK, ABORT, ERROR) arrive through {@link #onFrame}.
 */
final class SenderLink implements FrameHandler {
    /** Work item layer meaning "every layer". */
    static final int ALL_LAYERS = -1;
    /** A batch is written once it holds this many frames ... */
    static final int BATCH_FRAMES = 64;
    /** ... or this many payload bytes. */
    static final long BATCH_BYTES = 4L << 20;

    /** Rows to send: tokens {@code [firstToken, firstToken + count)} of {@code layer} (or of every layer). */
    record Work(OutgoingTransfer transfer, int layer, int firstToken, int count) { }

    private static final Work WAKE = new Work(null, 0, 0, 0);

    private final KvSender sender;
    private final String address;
    private final BlockingQueue<Work> queue;
    private final Queue<Frame> control = new ConcurrentLinkedQueue<>();
    private final Set<OutgoingTransfer> transfers = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Frame> handshake = new CompletableFuture<>();
    private final FrameEncoder encoder;
    private final Thread thread;
    private volatile Link link;
    private volatile boolean open = true;
    private volatile boolean stopping;

    // Sender-thread state of the batch being built.
    private final List<Frame> batch = new ArrayList<>();
    private final List<OutgoingTransfer> itemsDone = new ArrayList<>();
    private long batchBytes;

    SenderLink(KvSender sender, String address, FrameEncoder encoder, int queueCapacity) {
        this.sender = sender;
        this.address = address;
        this.encoder = encoder;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.thread = new Thread(this::run, "kv-send-" + address);
        thread.setDaemon(true);
    }

    String address() {
        return address;
    }

    boolean isOpen() {
        return open && link != null && link.isOpen();
    }

    // ---- handshake ----

    /** Connects, says HELLO and waits for WELCOME; then starts the sender thread. */
    void open(Link link, Frame.Hello hello, long timeoutNanos) {
        this.link = link;
        try {
            link.send(List.of(hello));
            Frame answer = handshake.get(timeoutNanos, TimeUnit.NANOSECONDS);
            if (answer instanceof Frame.Error e) {
                throw new KvTransferException(e.code(), "KV receiver " + address + " refused the link: " + e.message());
            }
            Frame.Welcome w = (Frame.Welcome) answer;
            KvLayout ours = hello.layout();
            if (!w.fingerprint().equals(hello.fingerprint()) || !KvReceiver.sameDimensions(w.layout(), ours)) {
                throw new KvTransferException(FailureCode.MODEL_MISMATCH, "KV receiver " + address + " runs model " + w.fingerprint()
                        + " with " + KvReceiver.dims(w.layout()) + ", this sender " + hello.fingerprint() + " with " + KvReceiver.dims(ours));
            }
        } catch (KvTransferException e) {
            link.close(e.getMessage());
            throw e;
        } catch (java.util.concurrent.TimeoutException e) {
            link.close("handshake timed out");
            throw new KvTransferException(FailureCode.CONNECTION_LOST, "KV receiver " + address + " did not answer the handshake");
        } catch (IOException | java.util.concurrent.ExecutionException e) {
            link.close("handshake failed");
            throw new KvTransferException(FailureCode.CONNECTION_LOST, "KV handshake with " + address + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            link.close("interrupted");
            throw new KvTransferException(FailureCode.CANCELLED, "interrupted during the KV handshake with " + address);
        }
        thread.start();
    }

    /** Adds a transfer to this link; false if the link has closed meanwhile. */
    synchronized boolean register(OutgoingTransfer t) {
        if (!isOpen()) return false;
        transfers.add(t);
        return true;
    }

    void unregister(OutgoingTransfer t) {
        transfers.remove(t);
    }

    // ---- compute side ----

    /** Queues work, waiting for room at most until the transfer's lease ends (then the transfer fails). */
    void enqueue(Work w) {
        try {
            long wait = w.transfer().deadlineNanos() - System.nanoTime();
            if (!queue.offer(w, Math.max(0, wait), TimeUnit.NANOSECONDS)) {
                sender.expire(w.transfer(), "its rows could not be queued before the lease ended");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sender.fail(w.transfer(), FailureCode.CANCELLED, false, "interrupted while queueing rows of transfer " + w.transfer().grant().idText(), true);
        }
    }

    /** Sends a control frame from the sender thread (never blocks the caller on the network). */
    void sendControl(Frame f) {
        control.add(f);
        queue.offer(WAKE);
    }

    // ---- sender thread ----

    private void run() {
        try {
            while (!stopping || !control.isEmpty()) {
                Work w = queue.poll(100, TimeUnit.MILLISECONDS);
                drainControl();
                if (w != null) {
                    process(w);
                    while (batchBytes < BATCH_BYTES && (w = queue.poll()) != null) process(w);
                }
                flush();
            }
        } catch (IOException e) {
            // The link closed itself and told onClosed; the items of the batch are released below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            System.getLogger(SenderLink.class.getName()).log(System.Logger.Level.ERROR, "KV sender thread for " + address + " failed", e);
            link.close("sender thread failed: " + e);
        } finally {
            batch.clear();
            for (OutgoingTransfer t : itemsDone) t.endSend();
            itemsDone.clear();
        }
    }

    private void drainControl() throws IOException {
        Frame f;
        while ((f = control.poll()) != null) add(f, 0);
    }

    /** Cuts one work item into frames, each a run of consecutive source block ids (capped in size), and adds them to the batch. */
    private void process(Work w) throws IOException {
        if (w == WAKE) return;
        OutgoingTransfer t = w.transfer();
        if (!t.beginSend()) return;
        boolean begun = true;
        try {
            int from = w.layer() == ALL_LAYERS ? 0 : w.layer();
            int to = w.layer() == ALL_LAYERS ? t.grant().layout().layers() : w.layer() + 1;
            BlockTable src = t.source();
            int end = w.firstToken() + w.count();
            for (int layer = from; layer < to; layer++) {
                for (int p = w.firstToken(); p < end; ) {
                    int n = BlockRuns.length(src, p, end, encoder.maxTokensPerFrame());
                    Frame.Data f = encoder.frame(t.transferId(), layer, src.blockOf(p), src.slotOf(p), n, p);
                    if (f == null) { // staging full: send what is built, then there is room
                        flush();
                        f = encoder.frame(t.transferId(), layer, src.blockOf(p), src.slotOf(p), n, p);
                    }
                    add(f, f.payloadBytes());
                    p += n;
                }
            }
            itemsDone.add(t);
            begun = false;
        } finally {
            if (begun) t.endSend(); // an exception: let go of the item before the thread dies
        }
    }

    private void add(Frame f, long payload) throws IOException {
        batch.add(f);
        batchBytes += payload;
        if (batch.size() >= BATCH_FRAMES || batchBytes >= BATCH_BYTES) flush();
    }

    /** Writes the batch; then the items whose frames were all in it let go of their transfers' blocks. */
    private void flush() throws IOException {
        if (!batch.isEmpty()) {
            link.send(batch);
            sender.stats().framesSent.add(batch.size());
            sender.stats().bytesSent.add(batchBytes);
            batch.clear();
            batchBytes = 0;
            encoder.reset();
        }
        for (OutgoingTransfer t : itemsDone) t.endSend();
        itemsDone.clear();
    }

    // ---- frames from the receiver ----

    @Override
    public void onFrame(Link from, Frame frame) {
        switch (frame) {
            case Frame.Welcome w -> handshake.complete(w);
            case Frame.Error e when e.transferId() == 0 -> {
                if (!handshake.complete(e)) from.close("receiver reported " + e.code() + ": " + e.message());
            }
            case Frame.Ack a -> sender.onAck(this, a.transferId());
            case Frame.Abort a -> sender.onPeerFailure(this, a.transferId(), a.code(), a.message());
            case Frame.Error e -> sender.onPeerFailure(this, e.transferId(), e.code(), e.message());
            default -> from.close("unexpected " + frame.getClass().getSimpleName() + " from a receiver");
        }
    }

    @Override
    public void onBadFrame(Link from, FrameException e) {
        sender.onPeerFailure(this, e.transferId(), e.code(), e.getMessage());
    }

    @Override
    public void onClosed(Link from, String reason) {
        List<OutgoingTransfer> lost;
        synchronized (this) {
            open = false;
            lost = new ArrayList<>(transfers);
        }
        handshake.completeExceptionally(new IOException(reason));
        sender.onLinkClosed(this, lost, reason);
        stopping = true;
        queue.clear();
        queue.offer(WAKE);
    }

    /** Whether transfer {@code t}'s frames may be in a write that is not finishing (used by the stall check). */
    boolean writing(OutgoingTransfer t) {
        return t.sending();
    }

    /** Closes the link at once (the receiver stopped reading, or the sender is closing). */
    void close(String reason) {
        Link l = link;
        if (l != null) l.close(reason);
        else onClosed(null, reason);
    }

    /** Sends the queued control frames, then stops the thread and closes the link (waits at most {@code millis}). */
    void shutdown(long millis) {
        stopping = true;
        queue.offer(WAKE);
        try {
            if (thread.isAlive()) thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close("KV sender closed");
    }

    @Override
    public String toString() {
        return "KV link to " + address;
    }
}
