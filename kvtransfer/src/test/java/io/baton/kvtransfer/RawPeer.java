package io.baton.kvtransfer;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A hand-driven end of a KV link for robustness tests: writes whatever bytes a test builds (duplicated, reordered,
 * corrupted frames) and reads frames back, with a read timeout so a test never hangs.
 */
final class RawPeer implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(5_000);
        socket.setTcpNoDelay(true);
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static RawPeer connect(String tcpAddress) throws IOException {
        var a = io.baton.kvtransfer.transport.TcpKvTransportAccess.parse(tcpAddress);
        return new RawPeer(new Socket(a.getAddress(), a.getPort()));
    }

    void send(Frame... frames) throws IOException {
        for (Frame f : frames) out.write(FrameCodec.toBytes(f));
        out.flush();
    }

    void sendBytes(byte[] b) throws IOException {
        out.write(b);
        out.flush();
    }

    /** The next frame, or null at end of stream. */
    Frame read() throws IOException, FrameException {
        byte[] header = new byte[FrameCodec.HEADER_BYTES];
        try {
            in.readFully(header);
        } catch (EOFException | SocketException e) {
            return null;
        }
        int len = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(32);
        if (len < 0 || len > FrameCodec.MAX_DATA_PAYLOAD) throw new IOException("bad length " + len);
        byte[] all = new byte[header.length + len];
        System.arraycopy(header, 0, all, 0, header.length);
        in.readFully(all, header.length, len);
        Frame f = FrameCodec.decode(ByteBuffer.wrap(all));
        if (f == null) throw new IOException("incomplete frame");
        return f;
    }

    /** Reads whatever else comes until the peer closes (true) or the read times out (false). */
    boolean drainUntilClosed() throws IOException {
        byte[] b = new byte[65536];
        try {
            while (in.read(b) >= 0) { }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset by peer
        }
    }

    /** Dies abruptly: the peer sees a connection reset, not a goodbye. */
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
