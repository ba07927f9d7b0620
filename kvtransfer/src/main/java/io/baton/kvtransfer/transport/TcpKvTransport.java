package io.baton.kvtransfer.transport;

import io.baton.kvtransfer.Frame;
import io.baton.kvtransfer.FrameCodec;
import io.baton.kvtransfer.FrameException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;

/**
 * Links over TCP with blocking {@code java.nio} channels (docs/kv-transfer.md, "Transports"). Writes are gathering
 * writes of frame headers and the DATA sections' own off-heap memory ({@code MemorySegment.asByteBuffer()}, no copy
 * onto the heap); each link has one reader thread that reads frames into a direct buffer of
 * {@value #READ_BUFFER_BYTES} bytes and decodes them in place, except the payloads its handler takes straight into
 * their destination ({@link FrameHandler#sinkFor}).
 */
public final class TcpKvTransport implements KvTransport {
    public static final String SCHEME = "tcp://";
    /** Room for the largest frame, so a frame is always decoded from one buffer. */
    public static final int READ_BUFFER_BYTES = FrameCodec.HEADER_BYTES + FrameCodec.MAX_DATA_PAYLOAD;
    /** Frames per gathering write. */
    static final int FRAMES_PER_WRITE = 64;
    static final int CONNECT_TIMEOUT_MS = 5_000;

    private final InetSocketAddress bind;
    private final boolean directReceive;
    private final Set<TcpLink> links = ConcurrentHashMap.newKeySet();
    private final Set<Server> servers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * A transport whose {@link #serve} listens on {@code bind} (port 0: any free port).
     *
     * @param directReceive read DATA payloads straight into the places their handler names
     *                      ({@link FrameHandler#sinkFor}); false: always through the read buffer (the plain reference path)
     */
    public TcpKvTransport(InetSocketAddress bind, boolean directReceive) {
        this.bind = bind;
        this.directReceive = directReceive;
    }

    /** A transport listening on {@code bind} that receives payloads straight into their destination where it can. */
    public TcpKvTransport(InetSocketAddress bind) {
        this(bind, true);
    }

    /** A transport serving on the loopback address, any free port. */
    public static TcpKvTransport loopback() {
        return loopback(true);
    }

    /** A transport serving on the loopback address, any free port; see {@link #TcpKvTransport(InetSocketAddress, boolean)}. */
    public static TcpKvTransport loopback(boolean directReceive) {
        return new TcpKvTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), directReceive);
    }

    @Override
    public Endpoint serve(FrameHandler receiver) throws IOException {
        if (closed) throw new IOException("TCP transport is closed");
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.bind(bind);
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot listen for KV on " + bind + ": " + e.getMessage(), e);
        }
        Server s = new Server(ch, receiver);
        servers.add(s);
        s.acceptor.start();
        return s;
    }

    /** A listening socket and the links it accepted. */
    private final class Server implements Endpoint {
        final ServerSocketChannel ch;
        final FrameHandler receiver;
        final String address;
        final Thread acceptor;
        final Set<TcpLink> accepted = ConcurrentHashMap.newKeySet();

        Server(ServerSocketChannel ch, FrameHandler receiver) throws IOException {
            this.ch = ch;
            this.receiver = receiver;
            InetSocketAddress at = (InetSocketAddress) ch.getLocalAddress();
            String host = at.getAddress().getHostAddress();
            this.address = SCHEME + (host.contains(":") ? "[" + host + "]" : host) + ":" + at.getPort();
            this.acceptor = new Thread(this::acceptLoop, "kv-tcp-accept-" + at.getPort());
            acceptor.setDaemon(true);
        }

        private void acceptLoop() {
            while (ch.isOpen()) {
                try {
                    SocketChannel c = ch.accept();
                    accepted.add(start(c, receiver, String.valueOf(c.getRemoteAddress())));
                } catch (ClosedChannelException e) {
                    return;
                } catch (IOException e) {
                    if (!ch.isOpen()) return;
                    System.getLogger(TcpKvTransport.class.getName()).log(System.Logger.Level.WARNING, "KV accept failed: " + e.getMessage());
                }
            }
        }

        @Override
        public String address() {
            return address;
        }

        @Override
        public void close() {
            servers.remove(this);
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            for (TcpLink l : accepted) l.close("KV receiver " + address + " closed");
        }
    }

    @Override
    public Link connect(String address, FrameHandler sender) throws IOException {
        InetSocketAddress to = parse(address);
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().connect(to, CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot connect to KV receiver " + address + ": " + e.getMessage(), e);
        }
        return start(ch, sender, address);
    }

    private TcpLink start(SocketChannel ch, FrameHandler handler, String peer) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        TcpLink link = new TcpLink(ch, handler, peer);
        links.add(link);
        if (closed) link.close("transport closed");
        else link.reader.start();
        return link;
    }

    /** Parses {@code tcp://host:port} with a one-line error for anything else. */
    static InetSocketAddress parse(String address) throws IOException {
        try {
            URI u = new URI(address);
            if (!"tcp".equals(u.getScheme()) || u.getHost() == null || u.getPort() <= 0 || (u.getPath() != null && !u.getPath().isEmpty())) {
                throw new IOException("not a KV TCP address (tcp://host:port): " + address);
            }
            return new InetSocketAddress(u.getHost(), u.getPort());
        } catch (URISyntaxException e) {
            throw new IOException("not a KV TCP address (tcp://host:port): " + address);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Server s : servers) s.close();
        for (TcpLink l : links) l.close("transport closed");
    }

    /** One TCP connection. */
    private final class TcpLink implements Link {
        private final SocketChannel ch;
        private final FrameHandler handler;
        private final String peer;
        private final AtomicBoolean open = new AtomicBoolean(true);
        private final Object writeLock = new Object();
        private final ByteBuffer headers = ByteBuffer.allocateDirect(FRAMES_PER_WRITE * FrameCodec.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        final Thread reader;

        TcpLink(SocketChannel ch, FrameHandler handler, String peer) {
            this.ch = ch;
            this.handler = handler;
            this.peer = peer;
            this.reader = new Thread(this::readLoop, "kv-tcp-read-" + peer);
            reader.setDaemon(true);
        }

        @Override
        public void send(List<? extends Frame> frames) throws IOException {
            synchronized (writeLock) {
                try {
                    for (int from = 0; from < frames.size(); from += FRAMES_PER_WRITE) {
                        write(frames.subList(from, Math.min(frames.size(), from + FRAMES_PER_WRITE)));
                    }
                } catch (IOException e) {
                    close("write to " + peer + " failed: " + e.getMessage());
                    throw e;
                }
            }
        }

        /** One gathering write: each DATA frame as its header plus its K and V sections straight from their memory. */
        private void write(List<? extends Frame> frames) throws IOException {
            headers.clear();
            List<ByteBuffer> parts = new ArrayList<>(frames.size() * 3);
            for (Frame f : frames) {
                if (f instanceof Frame.Data d) {
                    int p = headers.position();
                    FrameCodec.putDataHeader(headers, d);
                    parts.add(headers.slice(p, FrameCodec.HEADER_BYTES));
                    if (d.k().byteSize() > 0) parts.add(d.k().asByteBuffer());
                    if (d.v().byteSize() > 0) parts.add(d.v().asByteBuffer());
                } else {
                    parts.add(FrameCodec.encode(f));
                }
            }
            ByteBuffer[] bufs = parts.toArray(ByteBuffer[]::new);
            int first = 0;
            while (first < bufs.length) {
                ch.write(bufs, first, bufs.length - first);
                while (first < bufs.length && !bufs[first].hasRemaining()) first++;
            }
        }

        private void readLoop() {
            ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
            // Bytes [start, end) of buf are read and not yet decoded.
            int start = 0, end = 0;
            String reason = "closed";
            try {
                while (open.get()) {
                    int limit = buf.capacity();
                    if (directReceive) {
                        // Read no further than the end of the frame begun (its header, while that is incomplete): the
                        // payload of a DATA frame then comes straight into its blocks instead of through this buffer.
                        buf.limit(end).position(start);
                        limit = start + FrameCodec.pendingLength(buf);
                    }
                    buf.limit(limit).position(end);
                    if (ch.read(buf) < 0) {
                        reason = "peer " + peer + " closed the connection";
                        break;
                    }
                    end = buf.position();
                    buf.limit(end).position(start);
                    if (!decodeAll(buf)) return;
                    start = buf.position();
                    if (start == end) {
                        start = end = 0;
                    } else if (start + FrameCodec.pendingLength(buf) > buf.capacity()) {
                        // The partial frame would not fit where it is: move it to the front. Only then, so that a large
                        // frame arriving in many reads is not moved again after each of them.
                        buf.compact();
                        end -= start;
                        start = 0;
                    }
                }
            } catch (IOException e) {
                reason = "read from " + peer + " failed: " + e.getMessage();
            } catch (RuntimeException e) {
                reason = "KV link handler failed: " + e;
                System.getLogger(TcpKvTransport.class.getName()).log(System.Logger.Level.ERROR, reason, e);
            }
            close(reason);
        }

        /**
         * Hands every whole frame in {@code buf} to the handler, and reads the payloads of DATA frames whose handler
         * gives a {@link PayloadSink} straight into it; false if the stream turned out unreadable (closed).
         */
        private boolean decodeAll(ByteBuffer buf) throws IOException {
            while (true) {
                try {
                    if (directReceive) {
                        FrameCodec.DataHeader h = FrameCodec.dataHeader(buf);
                        PayloadSink sink = h == null ? null : handler.sinkFor(this, h);
                        if (sink != null) {
                            buf.position(buf.position() + FrameCodec.HEADER_BYTES);
                            receive(buf, h, sink);
                            continue;
                        }
                    }
                    Frame f = FrameCodec.decode(buf);
                    if (f == null) return true;
                    handler.onFrame(this, f);
                } catch (FrameException e) {
                    if (e.recoverable()) {
                        handler.onBadFrame(this, e);
                        continue;
                    }
                    try {
                        send(List.of(new Frame.Error(0, e.code(), e.getMessage())));
                    } catch (IOException ignored) {
                        // the link is going away anyway
                    }
                    close("unreadable frame from " + peer + ": " + e.getMessage());
                    return false;
                }
            }
        }

        /**
         * Fills {@code sink}'s targets with the payload: first the part already in {@code buf} (consumed), then the rest
         * read from the socket with scattering reads straight into the targets; then checks the payload's CRC32C.
         */
        private void receive(ByteBuffer buf, FrameCodec.DataHeader h, PayloadSink sink) throws IOException {
            ByteBuffer[] targets = sink.targets();
            boolean done = false;
            try {
                int i = 0;
                for (; i < targets.length && buf.hasRemaining(); ) {
                    ByteBuffer t = targets[i];
                    int n = Math.min(t.remaining(), buf.remaining());
                    t.put(t.position(), buf, buf.position(), n).position(t.position() + n);
                    buf.position(buf.position() + n);
                    if (!t.hasRemaining()) i++;
                }
                while (i < targets.length) {
                    if (ch.read(targets, i, targets.length - i) < 0) throw new IOException("peer " + peer + " closed the connection inside a frame");
                    while (i < targets.length && !targets[i].hasRemaining()) i++;
                }
                CRC32C crc = new CRC32C();
                for (ByteBuffer t : targets) crc.update(t.flip());
                done = true;
                sink.landed((int) crc.getValue() == h.payloadCrc());
            } finally {
                if (!done) sink.abandoned();
            }
        }

        @Override
        public void close(String reason) {
            if (!open.compareAndSet(true, false)) return;
            links.remove(this);
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            handler.onClosed(this, reason);
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
            return "tcp link to " + peer;
        }
    }
}
