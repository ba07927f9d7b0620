package io.baton.kvtransfer.transport;

import io.baton.kvtransfer.Frame;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Links inside one JVM (the embedded {@code serve} mode): {@link Link#send} hands each frame straight to the other
 * side's handler on the calling thread, so a DATA frame's sections are still the sender's KV slices when the receiver
 * copies them into its blocks ({@code MemorySegment.copy}). No bytes are encoded and no checksums computed. Senders and
 * receivers must share one instance.
 */
public final class InProcessKvTransport implements KvTransport {
    public static final String SCHEME = "inproc://";

    private final Map<String, FrameHandler> receivers = new ConcurrentHashMap<>();
    private final Set<Pipe> pipes = ConcurrentHashMap.newKeySet();
    private final AtomicInteger names = new AtomicInteger();

    @Override
    public Endpoint serve(FrameHandler receiver) {
        String address = SCHEME + "receiver-" + names.incrementAndGet();
        receivers.put(address, receiver);
        return new Endpoint() {
            @Override
            public String address() {
                return address;
            }

            @Override
            public void close() {
                receivers.remove(address);
                for (Pipe p : pipes) if (p.receiver == receiver) p.close("receiver " + address + " is gone");
            }
        };
    }

    @Override
    public Link connect(String address, FrameHandler sender) throws IOException {
        FrameHandler receiver = receivers.get(address);
        if (receiver == null) throw new IOException("no in-process KV receiver at " + address);
        Pipe p = new Pipe(address, sender, receiver);
        pipes.add(p);
        return p.senderEnd;
    }

    @Override
    public void close() {
        receivers.clear();
        for (Pipe p : pipes) p.close("transport closed");
    }

    /** The two ends of one in-process link. */
    private final class Pipe {
        final FrameHandler sender, receiver;
        final AtomicBoolean open = new AtomicBoolean(true);
        final End senderEnd, receiverEnd;

        Pipe(String address, FrameHandler sender, FrameHandler receiver) {
            this.sender = sender;
            this.receiver = receiver;
            this.senderEnd = new End(address);
            this.receiverEnd = new End("inproc sender");
        }

        void close(String reason) {
            if (!open.compareAndSet(true, false)) return;
            pipes.remove(this);
            receiver.onClosed(receiverEnd, reason);
            sender.onClosed(senderEnd, reason);
        }

        final class End implements Link {
            private final String peer;

            End(String peer) {
                this.peer = peer;
            }

            @Override
            public void send(List<? extends Frame> frames) throws IOException {
                boolean toReceiver = this == senderEnd;
                for (Frame f : frames) {
                    if (!open.get()) throw new IOException("in-process KV link to " + peer + " is closed");
                    if (toReceiver) receiver.onFrame(receiverEnd, f);
                    else sender.onFrame(senderEnd, f);
                }
            }

            @Override
            public void close(String reason) {
                Pipe.this.close(reason);
            }

            @Override
            public boolean isOpen() {
                return open.get();
            }

            @Override
            public String peer() {
                return peer;
            }

            @Override
            public String toString() {
                return "inproc link to " + peer;
            }
        }
    }
}
