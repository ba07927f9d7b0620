package io.baton.kvtransfer.bench;

import io.baton.engine.kv.KvStorage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;

/**
 * The floor under any TCP transfer on this machine, for context next to the protocol's numbers: the same bytes written
 * over one loopback socket in 1 MiB slices straight from the source storage, read into a 4 MiB direct buffer and copied
 * into the destination storage. No frames, checksums or bookkeeping.
 */
final class RawLoopback {
    private RawLoopback() {}

    private static final int SLICE = 1 << 20;

    /** Seconds to move every layer of {@code src} into {@code dst}. */
    static double seconds(KvStorage src, KvStorage dst) {
        int layers = src.layout().layers();
        long layerBytes = src.layerSegment(0).byteSize();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel out = SocketChannel.open(server.getLocalAddress());
             SocketChannel in = server.accept()) {
            out.setOption(StandardSocketOptions.TCP_NODELAY, true);
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(4 << 20);
                MemorySegment view = MemorySegment.ofBuffer(buf);
                long total = layers * layerBytes, got = 0;
                try {
                    while (got < total) {
                        buf.clear();
                        int n = in.read(buf);
                        if (n < 0) throw new IOException("early end of stream");
                        // Copy into the destination, possibly across a layer boundary.
                        for (int done = 0; done < n; ) {
                            long at = got + done;
                            int layer = (int) (at / layerBytes);
                            long off = at % layerBytes;
                            int len = (int) Math.min(n - done, layerBytes - off);
                            MemorySegment.copy(view, done, dst.layerSegment(layer), off, len);
                            done += len;
                        }
                        got += n;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            long t0 = System.nanoTime();
            for (int l = 0; l < layers; l++) {
                MemorySegment layer = src.layerSegment(l);
                for (long off = 0; off < layerBytes; off += SLICE) {
                    ByteBuffer b = layer.asSlice(off, Math.min(SLICE, layerBytes - off)).asByteBuffer();
                    while (b.hasRemaining()) out.write(b);
                }
            }
            reader.join();
            return KvBench.seconds(t0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
