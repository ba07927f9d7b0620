package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The byte form of {@link Frame}s (docs/kv-transfer.md, "Frames"): a 44-byte little-endian header, then the payload.
 * Both the header and the payload carry a CRC32C. The decoder is strict: anything it does not fully understand is
 * rejected, and no allocation depends on a length read from the input beyond the small, bounded control payloads.
 */
public final class FrameCodec {
    private FrameCodec() {}

    /** "BTKV" as the first four bytes. */
    public static final int MAGIC = 0x564B5442;
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 44;
    /** Largest DATA payload: a frame holds at most one source block of one layer, far below this. */
    public static final int MAX_DATA_PAYLOAD = 4 << 20;
    /** Longest ABORT/ERROR message in UTF-8 bytes; longer ones are cut when encoded. */
    public static final int MAX_MESSAGE_BYTES = 512;
    /** HELLO/WELCOME payload: fingerprint, five int32 dimensions, one type byte. */
    public static final int HELLO_PAYLOAD = ModelFingerprint.BYTES + 5 * 4 + 1;

    static final int HELLO = 1, WELCOME = 2, DATA = 3, ACK = 4, ABORT = 5, ERROR = 6;

    // Header offsets.
    private static final int O_VERSION = 4, O_TYPE = 5, O_WIRE = 6, O_COMPRESSION = 7, O_TRANSFER = 8, O_LAYER = 16,
            O_FIRST = 20, O_COUNT = 24, O_KLEN = 28, O_LEN = 32, O_PAYLOAD_CRC = 36, O_HEADER_CRC = 40;

    // ---- encoding ----

    /** A whole frame (header and payload) in a new heap buffer, ready to read. For control frames and tests. */
    public static ByteBuffer encode(Frame f) {
        if (f instanceof Frame.Data d) {
            int len = Math.toIntExact(d.payloadBytes());
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + len).order(ByteOrder.LITTLE_ENDIAN);
            putDataHeader(b, d);
            b.put(d.k().asByteBuffer()).put(d.v().asByteBuffer());
            return b.flip();
        }
        ByteBuffer payload = controlPayload(f);
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + payload.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        putHeader(b, typeOf(f), 0, f.transferId(), 0, 0, 0, 0, payload.remaining(), crc(payload.duplicate()));
        b.put(payload);
        return b.flip();
    }

    /** The bytes of {@link #encode}. */
    public static byte[] toBytes(Frame f) {
        ByteBuffer b = encode(f);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Writes a DATA frame's header at {@code dst}'s position (advancing it), with the CRC32C of its K and V sections;
     * the payload itself is written by the caller straight from the segments.
     */
    public static void putDataHeader(ByteBuffer dst, Frame.Data d) {
        CRC32C c = new CRC32C();
        c.update(d.k().asByteBuffer());
        c.update(d.v().asByteBuffer());
        putHeader(dst, DATA, d.wire().code, d.transferId(), d.layer(), d.firstToken(), d.count(),
                Math.toIntExact(d.k().byteSize()), Math.toIntExact(d.payloadBytes()), (int) c.getValue());
    }

    private static void putHeader(ByteBuffer dst, int type, int wire, long transferId, int layer, int first, int count,
                                  int kLen, int len, int payloadCrc) {
        ByteBuffer h = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = dst.position();
        h.putInt(p, MAGIC).put(p + O_VERSION, (byte) VERSION).put(p + O_TYPE, (byte) type).put(p + O_WIRE, (byte) wire)
                .put(p + O_COMPRESSION, (byte) 0).putLong(p + O_TRANSFER, transferId).putInt(p + O_LAYER, layer)
                .putInt(p + O_FIRST, first).putInt(p + O_COUNT, count).putInt(p + O_KLEN, kLen).putInt(p + O_LEN, len)
                .putInt(p + O_PAYLOAD_CRC, payloadCrc);
        h.putInt(p + O_HEADER_CRC, crc(h.slice(p, O_HEADER_CRC)));
        dst.position(p + HEADER_BYTES);
    }

    private static int typeOf(Frame f) {
        return switch (f) {
            case Frame.Hello h -> HELLO;
            case Frame.Welcome w -> WELCOME;
            case Frame.Data d -> DATA;
            case Frame.Ack a -> ACK;
            case Frame.Abort a -> ABORT;
            case Frame.Error e -> ERROR;
        };
    }

    private static ByteBuffer controlPayload(Frame f) {
        ByteBuffer b = ByteBuffer.allocate(Math.max(HELLO_PAYLOAD, 2 + MAX_MESSAGE_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        switch (f) {
            case Frame.Hello h -> putHello(b, h.fingerprint(), h.layout());
            case Frame.Welcome w -> putHello(b, w.fingerprint(), w.layout());
            case Frame.Ack a -> { }
            case Frame.Abort a -> putMessage(b, a.code(), a.message());
            case Frame.Error e -> putMessage(b, e.code(), e.message());
            case Frame.Data d -> throw new IllegalArgumentException("DATA is not a control frame");
        }
        return b.flip();
    }

    private static void putHello(ByteBuffer b, ModelFingerprint fp, KvLayout layout) {
        b.put(fp.toBytes());
        putLayout(b, layout);
    }

    static void putLayout(ByteBuffer b, KvLayout l) {
        b.putInt(l.layers()).putInt(l.kvHeads()).putInt(l.headDim()).putInt(l.valueDim()).putInt(l.blockSize())
                .put((byte) WireType.of(l.type()).code);
    }

    private static void putMessage(ByteBuffer b, FailureCode code, String message) {
        b.putShort((short) code.wire);
        b.put(truncateUtf8(message == null ? "" : message, MAX_MESSAGE_BYTES));
    }

    /** The longest prefix of {@code s} whose UTF-8 form fits {@code max} bytes (never splitting a character). */
    static byte[] truncateUtf8(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) return b;
        int n = max;
        while (n > 0 && (b[n] & 0xC0) == 0x80) n--; // back up to the start of the character that straddles the cut
        byte[] out = new byte[n];
        System.arraycopy(b, 0, out, 0, n);
        return out;
    }

    // ---- decoding ----

    /** A validated header: the fields of every frame type (unused ones are 0, and {@code wire} null off DATA). */
    private record Header(int type, WireType wire, long id, int layer, int first, int count, int kLen, int len, int payloadCrc) { }

    /**
     * The header of the DATA frame at {@code buf}'s position, validated as {@link #decode} does, without its payload
     * (for a reader that puts the payload straight where it belongs, checking {@link DataHeader#payloadCrc} itself);
     * null while fewer than {@link #HEADER_BYTES} bytes are there or when the frame is not DATA. Leaves the position alone.
     *
     * @throws FrameException for a header that is not valid (never recoverable: the stream is out of step)
     */
    public static DataHeader dataHeader(ByteBuffer buf) throws FrameException {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        Header h = header(b, b.position(), b.remaining());
        if (h == null || h.type() != DATA) return null;
        return new DataHeader(h.id(), h.layer(), h.first(), h.count(), h.wire(), h.kLen(), h.len(), h.payloadCrc());
    }

    /**
     * What a DATA frame's header says: {@code count} tokens from {@code firstToken} of {@code layer}, a payload of
     * {@code length} bytes, the first {@code kBytes} of them the K section.
     */
    public record DataHeader(long transferId, int layer, int firstToken, int count, WireType wire, int kBytes, int length, int payloadCrc) { }

    /**
     * Decodes the frame at {@code buf}'s position. Returns null, leaving the position alone, while the buffer holds only
     * part of a frame that could still be valid; otherwise advances the position past the frame. A DATA frame's
     * sections are views of {@code buf}: copy them out before reusing the buffer.
     *
     * @throws FrameException for bytes that are not a valid frame; when it is {@link FrameException#recoverable()}
     *                        (intact header, bad payload checksum) the position has moved past the frame
     */
    public static Frame decode(ByteBuffer buf) throws FrameException {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = b.position(), avail = b.remaining();
        Header h = header(b, p, avail);
        if (h == null) return null;
        int type = h.type(), layer = h.layer(), first = h.first(), count = h.count(), kLen = h.kLen(), len = h.len();
        long id = h.id();
        WireType wire = h.wire();
        if (avail - HEADER_BYTES < len) return null;
        ByteBuffer payload = b.slice(p + HEADER_BYTES, len).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(p + HEADER_BYTES + len);
        if (crc(payload.duplicate()) != h.payloadCrc()) {
            // The header is intact, so the stream is still in step: only this frame (and its transfer) is lost.
            throw new FrameException(FailureCode.CHECKSUM, "payload checksum mismatch in a frame of transfer "
                    + KvGrant.idText(id), id, id != 0);
        }
        try {
            return switch (type) {
                case DATA -> new Frame.Data(id, layer, first, count, wire,
                        MemorySegment.ofBuffer(payload.slice(0, kLen)), MemorySegment.ofBuffer(payload.slice(kLen, len - kLen)));
                case HELLO -> new Frame.Hello(ModelFingerprint.fromBytes(bytes(payload, ModelFingerprint.BYTES)), getLayout(payload));
                case WELCOME -> new Frame.Welcome(ModelFingerprint.fromBytes(bytes(payload, ModelFingerprint.BYTES)), getLayout(payload));
                case ACK -> new Frame.Ack(id);
                case ABORT -> new Frame.Abort(id, code(payload), message(payload));
                default -> new Frame.Error(id, code(payload), message(payload));
            };
        } catch (FrameException e) {
            buf.position(p); // not consumed: the caller closes the link
            throw e;
        }
    }

    /** The validated header at {@code p} (little-endian {@code b}), or null while fewer than its bytes are there. */
    private static Header header(ByteBuffer b, int p, int avail) throws FrameException {
        // Reject garbage as early as its bytes allow, so a bad stream is not read further.
        for (int i = 0; i < Math.min(4, avail); i++) {
            if (b.get(p + i) != (byte) (MAGIC >>> (8 * i))) throw new FrameException(FailureCode.BAD_FRAME, "not a KV frame (bad magic)");
        }
        if (avail > O_VERSION && b.get(p + O_VERSION) != VERSION) {
            throw new FrameException(FailureCode.VERSION_MISMATCH, "peer speaks KV protocol version "
                    + Byte.toUnsignedInt(b.get(p + O_VERSION)) + ", this worker " + VERSION);
        }
        if (avail < HEADER_BYTES) return null;
        if (crc(b.slice(p, O_HEADER_CRC)) != b.getInt(p + O_HEADER_CRC)) {
            throw new FrameException(FailureCode.CHECKSUM, "frame header checksum mismatch");
        }
        int type = b.get(p + O_TYPE), wireCode = b.get(p + O_WIRE), compression = b.get(p + O_COMPRESSION);
        long id = b.getLong(p + O_TRANSFER);
        int layer = b.getInt(p + O_LAYER), first = b.getInt(p + O_FIRST), count = b.getInt(p + O_COUNT);
        int kLen = b.getInt(p + O_KLEN), len = b.getInt(p + O_LEN);
        if (compression != 0) throw bad("unknown compression " + compression);
        WireType wire = null;
        switch (type) {
            case DATA -> {
                wire = WireType.fromCode(wireCode);
                if (wire == null) throw bad("unknown wire type " + wireCode);
                if (id == 0) throw bad("DATA frame without a transfer id");
                if (layer < 0 || first < 0 || count <= 0) throw bad("DATA frame with layer " + layer + ", tokens " + first + "+" + count);
                if (len <= 0 || len > MAX_DATA_PAYLOAD) throw bad("DATA payload of " + len + " bytes (limit " + MAX_DATA_PAYLOAD + ")");
                if (kLen < 0 || kLen > len) throw bad("K section of " + kLen + " bytes in a payload of " + len);
            }
            case HELLO, WELCOME, ACK, ABORT, ERROR -> {
                if (wireCode != 0 || layer != 0 || first != 0 || count != 0 || kLen != 0) throw bad("control frame with DATA fields set");
                boolean linkLevel = type == HELLO || type == WELCOME;
                if (linkLevel != (id == 0) && type != ERROR) throw bad("frame type " + type + " with transfer id " + id);
                boolean lenOk = switch (type) {
                    case HELLO, WELCOME -> len == HELLO_PAYLOAD;
                    case ACK -> len == 0;
                    default -> len >= 2 && len <= 2 + MAX_MESSAGE_BYTES;
                };
                if (!lenOk) throw bad("frame type " + type + " with a payload of " + len + " bytes");
            }
            default -> throw bad("unknown frame type " + type);
        }
        return new Header(type, wire, id, layer, first, count, kLen, len, b.getInt(p + O_PAYLOAD_CRC));
    }

    /**
     * Bytes of the whole frame that starts at {@code buf}'s position, when {@link #decode} returned null for it (its
     * header, if complete, is valid): header and payload, or just the header's size while the header is incomplete.
     */
    public static int pendingLength(ByteBuffer buf) {
        if (buf.remaining() < HEADER_BYTES) return HEADER_BYTES;
        return HEADER_BYTES + buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(buf.position() + O_LEN);
    }

    /** Reads what {@link #putLayout} wrote. */
    static KvLayout getLayout(ByteBuffer b) throws FrameException {
        int layers = b.getInt(), kvHeads = b.getInt(), headDim = b.getInt(), valueDim = b.getInt(), blockSize = b.getInt();
        WireType t = WireType.fromCode(b.get());
        if (t == null || t.kvType == null) throw bad("unknown KV storage type in a layout");
        try {
            return new KvLayout(layers, kvHeads, headDim, valueDim, blockSize, t.kvType);
        } catch (IllegalArgumentException e) {
            throw bad("invalid KV layout: " + e.getMessage());
        }
    }

    private static FailureCode code(ByteBuffer payload) throws FrameException {
        int wire = Short.toUnsignedInt(payload.getShort());
        FailureCode c = FailureCode.fromWire(wire);
        if (c == null) throw bad("unknown failure code " + wire);
        return c;
    }

    private static String message(ByteBuffer payload) throws FrameException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(payload).toString();
        } catch (CharacterCodingException e) {
            throw bad("failure message is not UTF-8");
        }
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static FrameException bad(String why) {
        return new FrameException(FailureCode.BAD_FRAME, why);
    }

    private static int crc(ByteBuffer b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }
}
