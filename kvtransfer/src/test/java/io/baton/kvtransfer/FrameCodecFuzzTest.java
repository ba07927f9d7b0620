package io.baton.kvtransfer;

import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property test of the decoder on random and mutated input (seeded, bounded): it never throws anything but
 * {@link FrameException}, never allocates more than a small constant per call whatever lengths the input claims, and
 * either decodes a frame exactly as it was encoded, asks for more bytes, or rejects.
 */
class FrameCodecFuzzTest {
    static final int CASES = 20_000;
    /** Allocation allowed per decode call: objects and views, never a buffer sized by the input. */
    static final long MAX_ALLOCATION = 32 * 1024;

    final Random random = new Random(20260101);
    final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long maxAllocated;
    /** Off during the first cases: class loading and JIT allocate on first use of each path. */
    boolean measuring;

    Frame randomFrame() {
        long id = random.nextLong() | 1;
        return switch (random.nextInt(6)) {
            case 0 -> new Frame.Hello(ModelFingerprint.synthetic("m" + random.nextInt(3)),
                    new KvLayout(1 + random.nextInt(64), 1 + random.nextInt(8), 1 + random.nextInt(128), 1 + random.nextInt(128),
                            1 + random.nextInt(64), KvType.values()[random.nextInt(3)]));
            case 1 -> new Frame.Welcome(ModelFingerprint.synthetic("w"), new KvLayout(2, 2, 8, 8, 16, KvType.F16));
            case 2 -> FrameCodecTest.data(id, random.nextInt(64), random.nextInt(1 << 20), 1 + random.nextInt(16),
                    WireType.values()[random.nextInt(4)], random.nextInt(300), 1 + random.nextInt(300), random.nextInt());
            case 3 -> new Frame.Ack(id);
            case 4 -> new Frame.Abort(id, FailureCode.values()[random.nextInt(FailureCode.values().length)], "m".repeat(random.nextInt(600)));
            default -> new Frame.Error(random.nextBoolean() ? 0 : id, FailureCode.BAD_FRAME, "x" + random.nextInt());
        };
    }

    /** Decodes like a link's reader: frames until it needs more bytes or rejects. */
    void decodeStream(ByteBuffer buf, byte[] expectedFirst) {
        boolean first = true;
        while (true) {
            long before = threads.getCurrentThreadAllocatedBytes();
            Frame f;
            try {
                f = FrameCodec.decode(buf);
            } catch (FrameException e) {
                assertThat(e.getMessage()).isNotBlank();
                if (!e.recoverable()) return;
                first = false;
                continue;
            } finally {
                long used = threads.getCurrentThreadAllocatedBytes() - before;
                if (measuring) {
                    maxAllocated = Math.max(maxAllocated, used);
                    assertThat(used).isLessThan(MAX_ALLOCATION);
                }
            }
            if (f == null) return;
            if (first && expectedFirst != null) assertThat(FrameCodec.toBytes(f)).isEqualTo(expectedFirst);
            first = false;
        }
    }

    @Test
    void randomBytesAreNeverMistakenForFrames() {
        for (int i = 0; i < CASES; i++) {
            byte[] b = new byte[random.nextInt(400)];
            random.nextBytes(b);
            if (random.nextBoolean() && b.length >= 4) System.arraycopy(new byte[] {'B', 'T', 'K', 'V', 1}, 0, b, 0, Math.min(5, b.length));
            ByteBuffer buf = ByteBuffer.wrap(b);
            try {
                assertThat(FrameCodec.decode(buf)).as("random bytes decoded as a frame").isNull();
            } catch (FrameException e) {
                assertThat(e.recoverable()).isFalse(); // a random header never passes its checksum
            }
        }
    }

    @Test
    void mutatedFramesAreRejectedOrExact() {
        int rejected = 0, exact = 0, partial = 0;
        for (int i = 0; i < CASES; i++) {
            measuring = i >= CASES / 10;
            byte[] original = FrameCodec.toBytes(randomFrame());
            byte[] m = original.clone();
            String how;
            switch (random.nextInt(5)) {
                case 0 -> { // 1 to 3 bit flips: CRC32C catches every such error at these lengths
                    int flips = 1 + random.nextInt(3);
                    for (int j = 0; j < flips; j++) m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
                    how = "flip";
                }
                case 1 -> {
                    m[random.nextInt(m.length)] = (byte) random.nextInt();
                    how = "byte";
                }
                case 2 -> {
                    m = Arrays.copyOf(m, random.nextInt(m.length));
                    how = "cut";
                }
                case 3 -> { // valid frame then garbage: the frame decodes, then the garbage is refused or incomplete
                    m = Arrays.copyOf(m, m.length + 1 + random.nextInt(100));
                    for (int j = original.length; j < m.length; j++) m[j] = (byte) random.nextInt();
                    how = "tail";
                }
                default -> { // a header that claims a huge payload, checksum made valid
                    m = FrameCodecTest.withField(original, 32, 4, random.nextInt(Integer.MAX_VALUE));
                    how = "length";
                }
            }
            boolean changed = !Arrays.equals(m, 0, Math.min(m.length, original.length), original, 0, Math.min(m.length, original.length));
            ByteBuffer buf = ByteBuffer.wrap(m);
            Frame f;
            try {
                f = FrameCodec.decode(buf);
            } catch (FrameException e) {
                rejected++;
                continue;
            }
            if (f == null) {
                partial++;
                assertThat(m.length < original.length || how.equals("length")).as(how + ": a whole frame asked for more").isTrue();
                continue;
            }
            assertThat(changed).as(how + ": a changed frame was accepted").isFalse();
            assertThat(FrameCodec.toBytes(f)).isEqualTo(original);
            exact++;
            decodeStream(buf, null); // whatever follows must not crash or allocate
        }
        assertThat(maxAllocated).isPositive();
        assertThat(rejected).isGreaterThan(CASES / 2);
        assertThat(exact + partial).isGreaterThan(0);
    }

    @Test
    void streamsSplitAnywhereDecodeTheSameFramesWithBoundedAllocation() {
        for (int i = 0; i < 500; i++) {
            byte[][] frames = new byte[1 + random.nextInt(5)][];
            int total = 0;
            for (int j = 0; j < frames.length; j++) total += (frames[j] = FrameCodec.toBytes(randomFrame())).length;
            ByteBuffer stream = ByteBuffer.allocate(total);
            for (byte[] fr : frames) stream.put(fr);
            byte[] all = stream.array();
            // Feed it in random pieces, as TCP reads would deliver it.
            ByteBuffer buf = ByteBuffer.allocate(total);
            int fed = 0, next = 0;
            while (fed < total) {
                int n = Math.min(total - fed, 1 + random.nextInt(700));
                buf.put(all, fed, n);
                fed += n;
                buf.flip();
                while (true) {
                    long before = threads.getCurrentThreadAllocatedBytes();
                    Frame f;
                    try {
                        f = FrameCodec.decode(buf);
                    } catch (FrameException e) {
                        throw new AssertionError("valid stream rejected: " + e.getMessage());
                    }
                    if (i >= 50) assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(MAX_ALLOCATION);
                    if (f == null) break;
                    assertThat(FrameCodec.toBytes(f)).isEqualTo(frames[next++]);
                }
                buf.compact();
            }
            assertThat(next).isEqualTo(frames.length);
        }
    }
}
