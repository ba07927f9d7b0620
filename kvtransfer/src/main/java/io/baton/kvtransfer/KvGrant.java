package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A decode worker's permission to push one request's prompt KV into blocks it has reserved: issued by
 * {@link KvReceiver#grant}, carried to the prefill worker by the control plane ({@link #encode()} / {@link #decode}),
 * used by {@link KvSender#start}.
 *
 * @param transferId          names the transfer in every frame (random, never 0)
 * @param destination         where the receiver listens: {@code tcp://host:port} or {@code inproc://name}
 * @param layout              the receiver's KV layout (dimensions, block size, storage type)
 * @param blockIds            the receiver's reserved blocks, in token order (for diagnostics: frames carry token
 *                            positions and the receiver maps them itself)
 * @param tokens              how many tokens (positions {@code 0 .. tokens-1}) the transfer carries
 * @param leaseDeadlineMillis Unix epoch milliseconds after which both sides give up and free their blocks
 * @param fingerprint         the model the receiver runs
 */
public record KvGrant(long transferId, String destination, KvLayout layout, int[] blockIds, int tokens,
                      long leaseDeadlineMillis, ModelFingerprint fingerprint) {

    /** Most tokens one grant may carry (16M): far above any context, low enough that bookkeeping stays small. */
    public static final int MAX_TOKENS = 1 << 24;
    /** Longest destination address. */
    public static final int MAX_DESTINATION_BYTES = 256;
    private static final int MAGIC = 0x474B5442; // "BTKG" little-endian
    private static final int VERSION = 1;

    public KvGrant {
        if (transferId == 0) throw new IllegalArgumentException("transfer id 0 is reserved");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(fingerprint, "fingerprint");
        if (destination.getBytes(StandardCharsets.UTF_8).length > MAX_DESTINATION_BYTES) {
            throw new IllegalArgumentException("destination address longer than " + MAX_DESTINATION_BYTES + " bytes");
        }
        if (tokens <= 0 || tokens > MAX_TOKENS) throw new IllegalArgumentException("a grant carries 1.." + MAX_TOKENS + " tokens, got " + tokens);
        if (blockIds.length < layout.blocksForTokens(tokens)) {
            throw new IllegalArgumentException(tokens + " tokens need " + layout.blocksForTokens(tokens) + " blocks of "
                    + layout.blockSize() + ", the grant has " + blockIds.length);
        }
        for (int b : blockIds) if (b < 0) throw new IllegalArgumentException("negative block id " + b);
        blockIds = blockIds.clone();
    }

    @Override
    public int[] blockIds() {
        return blockIds.clone();
    }

    /** The transfer id as log lines print it. */
    public String idText() {
        return idText(transferId);
    }

    /** A transfer id as log lines print it: 16 hex digits. */
    public static String idText(long transferId) {
        return String.format("%016x", transferId);
    }

    /** Compact binary form for the control plane (little-endian, versioned). */
    public byte[] encode() {
        byte[] dest = destination.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 + 2 + dest.length + 21 + 4 + 8 + ModelFingerprint.BYTES + 4 + 4 * blockIds.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).put((byte) VERSION).putLong(transferId).putShort((short) dest.length).put(dest);
        FrameCodec.putLayout(b, layout);
        b.putInt(tokens).putLong(leaseDeadlineMillis).put(fingerprint.toBytes()).putInt(blockIds.length);
        for (int id : blockIds) b.putInt(id);
        return b.array();
    }

    /**
     * Parses {@link #encode()}'s bytes strictly.
     *
     * @throws IllegalArgumentException with a one-line reason for anything that is not exactly one valid grant
     */
    public static KvGrant decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            if (b.getInt() != MAGIC) throw new IllegalArgumentException("not a KV grant (bad magic)");
            int version = b.get();
            if (version != VERSION) throw new IllegalArgumentException("KV grant version " + version + ", expected " + VERSION);
            long id = b.getLong();
            int destLen = Short.toUnsignedInt(b.getShort());
            if (destLen > MAX_DESTINATION_BYTES) throw new IllegalArgumentException("grant destination of " + destLen + " bytes");
            byte[] dest = new byte[destLen];
            b.get(dest);
            KvLayout layout = FrameCodec.getLayout(b);
            int tokens = b.getInt();
            long deadline = b.getLong();
            byte[] fp = new byte[ModelFingerprint.BYTES];
            b.get(fp);
            int n = b.getInt();
            if (n < 0 || n > b.remaining() / 4) throw new IllegalArgumentException("grant claims " + n + " block ids, " + b.remaining() + " bytes left");
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = b.getInt();
            if (b.hasRemaining()) throw new IllegalArgumentException(b.remaining() + " bytes after the grant");
            return new KvGrant(id, new String(dest, StandardCharsets.UTF_8), layout, ids, tokens, deadline, ModelFingerprint.fromBytes(fp));
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated KV grant (" + bytes.length + " bytes)");
        } catch (FrameException e) {
            throw new IllegalArgumentException("KV grant: " + e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvGrant g && transferId == g.transferId && destination.equals(g.destination) && layout.equals(g.layout)
                && Arrays.equals(blockIds, g.blockIds) && tokens == g.tokens && leaseDeadlineMillis == g.leaseDeadlineMillis
                && fingerprint.equals(g.fingerprint);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(transferId) * 31 + Arrays.hashCode(blockIds);
    }

    @Override
    public String toString() {
        return "KvGrant[" + idText() + " -> " + destination + ", " + tokens + " tokens in " + blockIds.length + " blocks, "
                + layout.type() + ", model " + fingerprint + "]";
    }
}
