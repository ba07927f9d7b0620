package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The byte form of each frame, and each way the strict decoder refuses bytes. */
class FrameCodecTest {
    static final KvLayout LAYOUT = new KvLayout(24, 2, 64, 64, 16, KvType.F32);

    static Frame.Data data(long id, int layer, int first, int count, WireType wire, int kLen, int vLen, int seed) {
        byte[] k = new byte[kLen], v = new byte[vLen];
        new java.util.Random(seed).nextBytes(k);
        new java.util.Random(seed + 1).nextBytes(v);
        return new Frame.Data(id, layer, first, count, wire, MemorySegment.ofArray(k), MemorySegment.ofArray(v));
    }

    static List<Frame> samples() {
        return List.of(
                new Frame.Hello(Pair.MODEL, LAYOUT),
                new Frame.Welcome(Pair.MODEL, new KvLayout(2, 4, 16, 8, 32, KvType.BF16)),
                data(-7, 23, 100, 3, WireType.F32, 3 * 512, 3 * 512, 1),
                data(9, 0, 0, 1, WireType.INT8, 136, 136, 2),
                new Frame.Ack(Long.MAX_VALUE),
                new Frame.Abort(3, FailureCode.LEASE_EXPIRED, "lease expired after 200 ms"),
                new Frame.Error(0, FailureCode.MODEL_MISMATCH, "KV from model ab refused — différent"),
                new Frame.Error(4, FailureCode.CHECKSUM, ""));
    }

    /** Decoded frames compared by their bytes (a DATA frame's sections are views, compared by content). */
    static byte[] bytes(Frame f) {
        return FrameCodec.toBytes(f);
    }

    @Test
    void everyFrameTypeRoundTrips() throws Exception {
        for (Frame f : samples()) {
            byte[] b = bytes(f);
            ByteBuffer buf = ByteBuffer.wrap(b);
            Frame back = FrameCodec.decode(buf);
            assertThat(buf.hasRemaining()).isFalse();
            assertThat(bytes(back)).as("%s", f).isEqualTo(b);
            if (!(f instanceof Frame.Data)) assertThat(back).isEqualTo(f);
        }
    }

    @Test
    void aPartialFrameAsksForMoreAndConsumesNothing() throws Exception {
        for (Frame f : samples()) {
            byte[] b = bytes(f);
            for (int n = 0; n < b.length; n++) {
                ByteBuffer buf = ByteBuffer.wrap(b, 0, n);
                assertThat(FrameCodec.decode(buf)).isNull();
                assertThat(buf.position()).isZero();
            }
        }
    }

    @Test
    void framesFollowOneAnotherInAStream() throws Exception {
        ByteBuffer all = ByteBuffer.allocate(1 << 16);
        for (Frame f : samples()) all.put(bytes(f));
        all.flip();
        for (Frame f : samples()) assertThat(bytes(FrameCodec.decode(all))).isEqualTo(bytes(f));
        assertThat(FrameCodec.decode(all)).isNull();
    }

    @Test
    void longMessagesAreCutOnACharacterBoundary() throws Exception {
        String msg = "é".repeat(400); // 800 bytes of two-byte characters
        Frame back = FrameCodec.decode(ByteBuffer.wrap(bytes(new Frame.Abort(1, FailureCode.CANCELLED, msg))));
        assertThat(((Frame.Abort) back).message()).isEqualTo("é".repeat(FrameCodec.MAX_MESSAGE_BYTES / 2));
        assertThat(FrameCodec.truncateUtf8("a€b", 3)).isEqualTo("a".getBytes()); // never half of '€'
    }

    /** {@code frame} with a header field changed and the header checksum made valid again. */
    static byte[] withField(byte[] frame, int offset, int size, long value) {
        byte[] b = frame.clone();
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        switch (size) {
            case 1 -> h.put(offset, (byte) value);
            case 4 -> h.putInt(offset, (int) value);
            default -> h.putLong(offset, value);
        }
        CRC32C c = new CRC32C();
        c.update(b, 0, 40);
        h.putInt(40, (int) c.getValue());
        return b;
    }

    static void assertRejected(byte[] b, FailureCode code, String message) {
        assertThatThrownBy(() -> FrameCodec.decode(ByteBuffer.wrap(b)))
                .isInstanceOf(FrameException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(((FrameException) e).code()).isEqualTo(code))
                .satisfies(e -> assertThat(((FrameException) e).recoverable()).isFalse());
    }

    @Test
    void rejectsWhatItDoesNotFullyUnderstand() {
        byte[] data = bytes(data(5, 1, 2, 1, WireType.F32, 512, 512, 3));
        byte[] ack = bytes(new Frame.Ack(5));
        byte[] hello = bytes(new Frame.Hello(Pair.MODEL, LAYOUT));
        assertRejected("HTTP/1.1 200".getBytes(), FailureCode.BAD_FRAME, "bad magic");
        assertRejected(new byte[] {'B', 'T', 'K', 'V', 2}, FailureCode.VERSION_MISMATCH, "peer speaks KV protocol version 2, this worker 1");
        byte[] flipped = data.clone();
        flipped[20] ^= 4;
        assertRejected(flipped, FailureCode.CHECKSUM, "header checksum");
        assertRejected(withField(data, 5, 1, 9), FailureCode.BAD_FRAME, "unknown frame type 9");
        assertRejected(withField(data, 6, 1, 4), FailureCode.BAD_FRAME, "unknown wire type 4");
        assertRejected(withField(data, 7, 1, 1), FailureCode.BAD_FRAME, "unknown compression 1");
        assertRejected(withField(data, 8, 8, 0), FailureCode.BAD_FRAME, "without a transfer id");
        assertRejected(withField(data, 24, 4, 0), FailureCode.BAD_FRAME, "tokens 2+0");
        assertRejected(withField(data, 28, 4, 2000), FailureCode.BAD_FRAME, "K section of 2000 bytes");
        assertRejected(withField(ack, 8, 8, 0), FailureCode.BAD_FRAME, "with transfer id 0");
        assertRejected(withField(hello, 8, 8, 3), FailureCode.BAD_FRAME, "with transfer id 3");
        assertRejected(withField(ack, 16, 4, 1), FailureCode.BAD_FRAME, "DATA fields set");
        assertRejected(withField(ack, 32, 4, 4), FailureCode.BAD_FRAME, "payload of 4 bytes");
        // A claimed payload beyond the limit is refused from the header alone: nothing waits for (or buffers) 2 GB.
        assertRejected(Arrays.copyOf(withField(data, 32, 4, Integer.MAX_VALUE), FrameCodec.HEADER_BYTES), FailureCode.BAD_FRAME, "limit");
        assertRejected(Arrays.copyOf(withField(data, 32, 4, -1), FrameCodec.HEADER_BYTES), FailureCode.BAD_FRAME, "payload of -1");
        // An intact header with a bad body: a layout no worker can have, an unknown failure code, bytes that are not UTF-8.
        byte[] badLayout = hello.clone();
        ByteBuffer.wrap(badLayout).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameCodec.HEADER_BYTES + 32, 0);
        assertRejected(fixPayloadCrc(badLayout), FailureCode.BAD_FRAME, "invalid KV layout");
        byte[] badCode = bytes(new Frame.Abort(1, FailureCode.CANCELLED, "x"));
        badCode[FrameCodec.HEADER_BYTES] = 99;
        assertRejected(fixPayloadCrc(badCode), FailureCode.BAD_FRAME, "unknown failure code 99");
        byte[] badText = bytes(new Frame.Abort(1, FailureCode.CANCELLED, "x"));
        badText[FrameCodec.HEADER_BYTES + 2] = (byte) 0xC3;
        assertRejected(fixPayloadCrc(badText), FailureCode.BAD_FRAME, "not UTF-8");
    }

    static byte[] fixPayloadCrc(byte[] frame) {
        CRC32C c = new CRC32C();
        c.update(frame, FrameCodec.HEADER_BYTES, frame.length - FrameCodec.HEADER_BYTES);
        return withField(frame, 36, 4, (int) c.getValue());
    }

    @Test
    void aBadPayloadChecksumSkipsOnlyThatFrame() throws Exception {
        byte[] good = bytes(data(5, 1, 2, 1, WireType.F32, 512, 512, 3));
        byte[] bad = good.clone();
        bad[bad.length - 1] ^= 1;
        ByteBuffer buf = ByteBuffer.allocate(2 * good.length).put(bad).put(good).flip();
        assertThatThrownBy(() -> FrameCodec.decode(buf)).isInstanceOf(FrameException.class)
                .satisfies(e -> assertThat(((FrameException) e).recoverable()).isTrue())
                .satisfies(e -> assertThat(((FrameException) e).transferId()).isEqualTo(5))
                .satisfies(e -> assertThat(((FrameException) e).code()).isEqualTo(FailureCode.CHECKSUM));
        assertThat(buf.position()).isEqualTo(good.length);
        assertThat(bytes(FrameCodec.decode(buf))).isEqualTo(good);
    }
}
