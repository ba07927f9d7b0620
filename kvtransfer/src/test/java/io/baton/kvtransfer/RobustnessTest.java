package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What fails on the loopback network: peers dying mid-transfer, stalls, duplicate, late, reordered and corrupted frames,
 * grants never used. The receiver keeps serving, every block on each surviving side is back in its pool within the
 * lease, and the counters say why. Leases are 200 ms; waits are on conditions, bounded.
 */
class RobustnessTest {
    static final Duration LEASE = Duration.ofMillis(200);
    /** The bound for "within the lease": the lease plus scheduling slack on a busy 2-core machine. */
    static final Duration WITHIN_LEASE = LEASE.plusSeconds(2);
    static final KvLayout LAYOUT = new KvLayout(2, 2, 4, 4, 4, KvType.F32);
    static final int TOKENS = 10;

    Pair p;

    @BeforeEach
    void setUp() {
        p = new Pair(Pair.Kind.TCP, LAYOUT, LAYOUT, null);
        assertStillServes(); // opens the sender's link, so a cold first handshake does not eat a 200 ms lease
    }

    @AfterEach
    void tearDown() {
        p.close();
    }

    /** A raw sender that has said HELLO and got WELCOME. */
    RawPeer rawSender() throws Exception {
        RawPeer s = RawPeer.connect(p.receiver.address());
        s.send(new Frame.Hello(Pair.MODEL, LAYOUT));
        assertThat(s.read()).isInstanceOf(Frame.Welcome.class);
        return s;
    }

    /** One frame per (layer, token) of the prefill side's table, in order. */
    List<Frame.Data> frames(long id, BlockTable src) {
        List<Frame.Data> out = new ArrayList<>();
        for (int layer = 0; layer < LAYOUT.layers(); layer++) {
            for (int pos = 0; pos < TOKENS; pos++) {
                int block = src.blockOf(pos), slot = src.slotOf(pos);
                out.add(new Frame.Data(id, layer, pos, 1, WireType.F32, p.prefill.storage.kRows(layer, block, slot, 1),
                        p.prefill.storage.vRows(layer, block, slot, 1)));
            }
        }
        return out;
    }

    void assertSameRows(BlockTable src, BlockTable dst) {
        for (int layer = 0; layer < LAYOUT.layers(); layer++) {
            for (int pos = 0; pos < TOKENS; pos++) assertThat(p.decode.row(dst, layer, pos)).containsExactly(p.prefill.row(src, layer, pos));
        }
    }

    @Test
    void senderKilledMidTransfer() throws Exception {
        BlockTable dst = p.decode.reserve("a", TOKENS), idle = p.decode.reserve("b", TOKENS);
        BlockOwner.Outcome a = p.decode.freeing("a", true), b = p.decode.freeing("b", true);
        KvGrant ga = p.receiver.grant(dst, TOKENS, LEASE, a);
        p.receiver.grant(idle, TOKENS, LEASE, b); // granted, no data yet when the sender dies
        BlockTable src = p.prefill.reserve("a", TOKENS);
        p.prefill.fillRandom(src, TOKENS, 1);

        RawPeer s = rawSender();
        List<Frame.Data> fs = frames(ga.transferId(), src);
        long received = p.receiver.stats().framesReceived();
        s.send(fs.subList(0, 7).toArray(Frame[]::new));
        await().atMost(WITHIN_LEASE).until(() -> p.receiver.stats().framesReceived() == received + 7);
        s.reset();

        await().atMost(WITHIN_LEASE).until(() -> a.done() && b.done());
        assertThat(a.failure.code()).isEqualTo(FailureCode.CONNECTION_LOST);
        assertThat(b.failure.code()).isEqualTo(FailureCode.LEASE_EXPIRED);
        assertThat(p.decode.allFree()).isTrue();
        assertThat(p.receiver.stats().linksLost()).isEqualTo(1);
        assertThat(p.receiver.stats().leasesExpired()).isEqualTo(1);
        assertThat(p.receiver.liveTransfers()).isZero();
        p.prefill.free("a");
        assertStillServes();
    }

    @Test
    void realSenderKilledMidTransferFreesBothSides() throws Exception {
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserve("a", TOKENS);
        BlockOwner.Outcome decoded = p.decode.freeing("a", true), sent = p.prefill.freeing("a", true);
        OutgoingTransfer t = p.sender.start(p.receiver.grant(dst, TOKENS, LEASE, decoded), src, sent);
        long received = p.receiver.stats().framesReceived();
        t.layerReady(0, 0, TOKENS);
        await().atMost(WITHIN_LEASE).until(() -> p.receiver.stats().framesReceived() > received);
        p.senderTransport.close(); // its sockets close under it: no ABORT reaches the receiver
        await().atMost(WITHIN_LEASE).until(() -> decoded.done() && sent.done());
        assertThat(decoded.failure.code()).isEqualTo(FailureCode.CONNECTION_LOST);
        assertThat(sent.failure.code()).isEqualTo(FailureCode.CONNECTION_LOST);
        assertThat(p.allFree()).isTrue();
    }

    @Test
    void receiverKilledMidTransfer() throws Exception {
        // A receiver that welcomes the sender, reads a little, then dies (connection reset).
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> receiverDone = CompletableFuture.runAsync(() -> {
                try (RawPeer r = new RawPeer(server.accept())) {
                    assertThat(r.read()).isInstanceOf(Frame.Hello.class);
                    r.send(new Frame.Welcome(Pair.MODEL, LAYOUT));
                    assertThat(r.read()).isInstanceOf(Frame.Data.class);
                    r.reset();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            String address = "tcp://127.0.0.1:" + server.getLocalPort();
            KvGrant g = new KvGrant(77, address, LAYOUT, new int[] {0, 1, 2}, TOKENS, System.currentTimeMillis() + LEASE.toMillis(), Pair.MODEL);
            BlockTable src = p.prefill.reserve("a", TOKENS);
            BlockOwner.Outcome sent = p.prefill.freeing("a", true);
            OutgoingTransfer t = p.sender.start(g, src, sent);
            t.layerReady(0, 0, TOKENS);
            receiverDone.get(5, TimeUnit.SECONDS);
            t.layerReady(1, 0, TOKENS); // the compute thread goes on; its rows meet a dead link
            await().atMost(WITHIN_LEASE).until(sent::done);
            assertThat(sent.failure.code()).isIn(FailureCode.CONNECTION_LOST, FailureCode.LEASE_EXPIRED);
            assertThat(sent.calls).hasSize(1);
            assertThat(p.prefill.allFree()).isTrue();
            assertThat(p.sender.liveTransfers()).isZero();
        }
    }

    @Test
    void receiverThatStopsReadingCannotHoldTheSendersBlocks() throws Exception {
        // 16 MiB of KV: more than the socket buffers hold, so the sender's write blocks once the receiver stops reading.
        KvLayout big = new KvLayout(4, 8, 64, 64, 16, KvType.F32);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             BlockOwner prefill = new BlockOwner(big, 64);
             KvSender sender = new KvSender(prefill.storage, Pair.MODEL, p.senderTransport)) {
            CompletableFuture<RawPeer> frozen = CompletableFuture.supplyAsync(() -> {
                try {
                    RawPeer r = new RawPeer(server.accept());
                    assertThat(r.read()).isInstanceOf(Frame.Hello.class);
                    r.send(new Frame.Welcome(Pair.MODEL, big));
                    return r; // and never reads again
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            int tokens = 1024;
            KvGrant g = new KvGrant(99, "tcp://127.0.0.1:" + server.getLocalPort(), big, new int[64], tokens,
                    System.currentTimeMillis() + LEASE.toMillis() + 1000, Pair.MODEL);
            BlockTable src = prefill.reserve("a", tokens);
            BlockOwner.Outcome sent = prefill.freeing("a", true);
            OutgoingTransfer t = sender.start(g, src, sent);
            t.allLayersReady(0, tokens);
            try (RawPeer r = frozen.get(5, TimeUnit.SECONDS)) {
                await().atMost(WITHIN_LEASE.plusSeconds(1)).until(sent::done);
                assertThat(sent.failure.code()).isIn(FailureCode.LEASE_EXPIRED, FailureCode.CONNECTION_LOST);
                assertThat(prefill.allFree()).isTrue();
                assertThat(sender.liveTransfers()).isZero();
                assertThat(r.drainUntilClosed()).as("the stalled link was closed").isTrue();
            }
        }
    }

    @Test
    void realReceiverKilledMidTransfer() throws Exception {
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserve("a", TOKENS);
        BlockOwner.Outcome decoded = p.decode.freeing("a", true), sent = p.prefill.freeing("a", true);
        OutgoingTransfer t = p.sender.start(p.receiver.grant(dst, TOKENS, LEASE, decoded), src, sent);
        long received = p.receiver.stats().framesReceived();
        t.layerReady(0, 0, TOKENS);
        await().atMost(WITHIN_LEASE).until(() -> p.receiver.stats().framesReceived() > received);
        p.receiverTransport.close(); // the decode worker's sockets close under it
        t.layerReady(1, 0, TOKENS);
        await().atMost(WITHIN_LEASE).until(() -> decoded.done() && sent.done());
        assertThat(sent.failure.code()).isEqualTo(FailureCode.CONNECTION_LOST);
        assertThat(p.allFree()).isTrue();
    }

    @Test
    void stalledSenderLosesItsLeaseOnBothSides() {
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserve("a", TOKENS);
        BlockOwner.Outcome decoded = p.decode.freeing("a", true), sent = p.prefill.freeing("a", true);
        OutgoingTransfer t = p.sender.start(p.receiver.grant(dst, TOKENS, LEASE, decoded), src, sent);
        t.layerReady(0, 0, TOKENS); // layer 1 never comes
        await().atMost(WITHIN_LEASE).until(() -> decoded.done() && sent.done());
        assertThat(decoded.failure.code()).isEqualTo(FailureCode.LEASE_EXPIRED);
        assertThat(sent.failure.code()).isEqualTo(FailureCode.LEASE_EXPIRED);
        assertThat(p.allFree()).isTrue();
        assertThat(p.receiver.stats().leasesExpired()).isEqualTo(1);
        assertThat(p.sender.stats().leasesExpired()).isEqualTo(1);
        assertThat(p.sender.stats().live() + p.receiver.stats().live()).isZero();
    }

    @Test
    void grantThatNeverComes() {
        BlockTable dst = p.decode.reserve("a", TOKENS);
        BlockOwner.Outcome decoded = p.decode.freeing("a", true);
        long start = System.nanoTime();
        p.receiver.grant(dst, TOKENS, LEASE, decoded);
        await().atMost(WITHIN_LEASE).until(decoded::done);
        assertThat(System.nanoTime() - start).as("not before the lease").isGreaterThanOrEqualTo(LEASE.toNanos());
        assertThat(decoded.failure.code()).isEqualTo(FailureCode.LEASE_EXPIRED);
        assertThat(decoded.failure.message()).contains("lease expired").contains("0/20 layer-rows");
        assertThat(p.decode.allFree()).isTrue();
        assertThat(p.receiver.stats().leasesExpired()).isEqualTo(1);
    }

    @Test
    void duplicateReorderedAndLateFrames() throws Exception {
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserveShuffled("a", TOKENS);
        p.prefill.fillRandom(src, TOKENS, 3);
        BlockOwner.Outcome decoded = p.decode.freeing("a", false);
        KvGrant g = p.receiver.grant(dst, TOKENS, Duration.ofSeconds(10), decoded);
        List<Frame.Data> fs = new ArrayList<>(frames(g.transferId(), src));
        Random r = new Random(5);
        List<Frame.Data> dups = new ArrayList<>();
        for (Frame.Data f : fs) if (r.nextInt(3) == 0) dups.add(f);
        fs.addAll(dups);
        Collections.shuffle(fs, r);
        // The last frame completes the transfer; duplicates before it only rewrite the same rows.
        try (RawPeer s = rawSender()) {
            s.send(fs.toArray(Frame[]::new));
            assertThat(s.read()).isEqualTo(new Frame.Ack(g.transferId()));
            // The receiver sends the ACK, then calls its listener: the ACK may arrive first.
            await().atMost(WITHIN_LEASE).until(decoded::done);
            assertThat(decoded.calls).containsExactly("succeeded");
            assertSameRows(src, dst);
            long lastDups = p.receiver.stats().rowsDuplicated();
            assertThat(lastDups).isGreaterThan(0);

            // Late frames with other contents (valid checksums) after completion: dropped without a word, rows untouched.
            // (Duplicates shuffled after the completing frame were late too.)
            long dropped = p.receiver.stats().framesDropped();
            p.prefill.fillRandom(src, TOKENS, 99);
            s.send(frames(g.transferId(), src).subList(0, 3).toArray(Frame[]::new));
            // A frame for a transfer never granted gets an answer; TCP order proves the late ones got none.
            s.send(new Frame.Data(12345, 0, 0, 1, WireType.F32, MemorySegment.ofArray(new byte[16]), MemorySegment.ofArray(new byte[16])));
            Frame answer = s.read();
            assertThat(answer).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) answer).code()).isEqualTo(FailureCode.UNKNOWN_TRANSFER);
            assertThat(p.receiver.stats().framesDropped()).isEqualTo(dropped + 4);
            assertThat(p.decode.row(dst, 0, 0)).isNotEqualTo(p.prefill.row(src, 0, 0)); // still the first contents
        }
        assertThat(decoded.calls).containsExactly("succeeded");
        p.decode.free("a");
        p.prefill.free("a");
        assertThat(p.allFree()).isTrue();
    }

    @Test
    void corruptedPayloadFailsOnlyItsTransfer() throws Exception {
        BlockTable srcA = p.prefill.reserve("a", TOKENS), srcB = p.prefill.reserve("b", TOKENS);
        p.prefill.fillRandom(srcA, TOKENS, 1);
        p.prefill.fillRandom(srcB, TOKENS, 2);
        BlockTable dstA = p.decode.reserve("a", TOKENS), dstB = p.decode.reserve("b", TOKENS);
        BlockOwner.Outcome a = p.decode.freeing("a", true), b = p.decode.freeing("b", false);
        KvGrant ga = p.receiver.grant(dstA, TOKENS, Duration.ofSeconds(10), a);
        KvGrant gb = p.receiver.grant(dstB, TOKENS, Duration.ofSeconds(10), b);
        try (RawPeer s = rawSender()) {
            byte[] bad = FrameCodec.toBytes(frames(ga.transferId(), srcA).get(3));
            bad[FrameCodec.HEADER_BYTES + 5] ^= 0x10; // one bit of the payload
            s.sendBytes(bad);
            Frame answer = s.read();
            assertThat(answer).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) answer).code()).isEqualTo(FailureCode.CHECKSUM);
            assertThat(answer.transferId()).isEqualTo(ga.transferId());
            assertThat(a.failure.code()).isEqualTo(FailureCode.CHECKSUM);
            // The stream is still in step: the next transfer on the same connection completes.
            s.send(frames(gb.transferId(), srcB).toArray(Frame[]::new));
            assertThat(s.read()).isEqualTo(new Frame.Ack(gb.transferId()));
            assertSameRows(srcB, dstB);
        }
        assertThat(p.receiver.stats().badFrames()).isEqualTo(1);
        assertThat(p.receiver.stats().failed(FailureCode.CHECKSUM)).isEqualTo(1);
        p.decode.free("b");
        p.prefill.free("a");
        p.prefill.free("b");
        assertThat(p.allFree()).isTrue();
    }

    @Test
    void corruptedHeaderClosesTheLink() throws Exception {
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserve("a", TOKENS);
        p.prefill.fillRandom(src, TOKENS, 1);
        BlockOwner.Outcome a = p.decode.freeing("a", true);
        KvGrant g = p.receiver.grant(dst, TOKENS, Duration.ofSeconds(10), a);
        try (RawPeer s = rawSender()) {
            List<Frame.Data> fs = frames(g.transferId(), src);
            s.send(fs.get(0), fs.get(1));
            byte[] bad = FrameCodec.toBytes(fs.get(2));
            bad[17] ^= 0x01; // the layer field: a header the receiver cannot trust
            s.sendBytes(bad);
            Frame answer = s.read();
            assertThat(answer).isInstanceOf(Frame.Error.class);
            assertThat(answer.transferId()).isZero();
            assertThat(((Frame.Error) answer).code()).isEqualTo(FailureCode.CHECKSUM);
            assertThat(s.drainUntilClosed()).isTrue();
        }
        await().atMost(WITHIN_LEASE).until(a::done);
        assertThat(a.failure.code()).isEqualTo(FailureCode.CONNECTION_LOST);
        assertThat(p.decode.allFree()).isTrue();
        p.prefill.free("a");
        assertStillServes();
    }

    @Test
    void framesThatDoNotFitTheirTransferFailIt() throws Exception {
        MemorySegment k = MemorySegment.ofArray(new byte[32]), v = MemorySegment.ofArray(new byte[32]);
        List<Frame.Data> bad = List.of(
                new Frame.Data(1, 2, 0, 1, WireType.F32, k, v),                   // layer beyond the model
                new Frame.Data(1, 0, TOKENS - 1, 2, WireType.F32, k, v),          // tokens beyond the grant
                new Frame.Data(1, 0, 0, 1, WireType.F32, k, v.asSlice(0, 8)));    // V section too short
        try (RawPeer s = rawSender()) {
            for (Frame.Data f : bad) {
                BlockTable dst = p.decode.reserve("x", TOKENS);
                BlockOwner.Outcome x = p.decode.freeing("x", true);
                KvGrant g = p.receiver.grant(dst, TOKENS, Duration.ofSeconds(10), x);
                s.send(new Frame.Data(g.transferId(), f.layer(), f.firstToken(), f.count(), f.wire(), f.k(), f.v()));
                Frame answer = s.read();
                assertThat(answer).isInstanceOf(Frame.Error.class);
                assertThat(((Frame.Error) answer).code()).isEqualTo(FailureCode.BAD_FRAME);
                assertThat(answer.transferId()).isEqualTo(g.transferId());
                assertThat(x.failure.code()).isEqualTo(FailureCode.BAD_FRAME);
                assertThat(p.decode.allFree()).isTrue();
            }
        }
        assertThat(p.receiver.stats().failed(FailureCode.BAD_FRAME)).isEqualTo(3);
        assertStillServes();
    }

    @Test
    void dataBeforeHelloIsRefused() throws Exception {
        try (RawPeer s = RawPeer.connect(p.receiver.address())) {
            s.send(new Frame.Ack(5));
            Frame answer = s.read();
            assertThat(answer).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) answer).message()).contains("first frame on a KV link must be HELLO");
            assertThat(s.drainUntilClosed()).isTrue();
        }
        try (RawPeer s = RawPeer.connect(p.receiver.address())) {
            s.sendBytes("GET / HTTP/1.1\r\n\r\n".getBytes());
            Frame answer = s.read();
            assertThat(((Frame.Error) answer).code()).isEqualTo(FailureCode.BAD_FRAME);
            assertThat(s.drainUntilClosed()).isTrue();
        }
        assertStillServes();
    }

    @Test
    void senderStalledInsideAFrameCannotHoldTheReceiversBlocks() throws Exception {
        // The payload of a DATA frame is read straight into the transfer's blocks: a sender that stops in the middle of
        // one leaves that read blocked. The lease still ends the transfer, its listener is called only once the read has
        // let go of the blocks, and the link is closed for it shortly after the lease.
        BlockTable src = p.prefill.reserve("a", TOKENS), dst = p.decode.reserve("a", TOKENS);
        p.prefill.fillRandom(src, TOKENS, 1);
        BlockOwner.Outcome a = p.decode.freeing("a", true);
        KvGrant g = p.receiver.grant(dst, TOKENS, LEASE, a);
        try (RawPeer s = rawSender()) {
            byte[] bytes = FrameCodec.toBytes(new Frame.Data(g.transferId(), 0, 0, 4, WireType.F32,
                    p.prefill.storage.kRows(0, src.blockOf(0), 0, 4), p.prefill.storage.vRows(0, src.blockOf(0), 0, 4)));
            s.sendBytes(java.util.Arrays.copyOf(bytes, FrameCodec.HEADER_BYTES + 20)); // header and a few payload bytes
            await().atMost(WITHIN_LEASE).until(a::done);
            assertThat(a.calls).containsExactly("failed LEASE_EXPIRED");
            assertThat(p.decode.allFree()).isTrue();
            assertThat(s.drainUntilClosed()).as("the receiver closes the stalled link").isTrue();
        }
        assertThat(p.receiver.liveTransfers()).isZero();
        p.prefill.free("a");
        assertStillServes();
    }

    /** The receiver still completes an ordinary transfer from the real sender. */
    void assertStillServes() {
        BlockTable src = p.prefill.reserve("ok", TOKENS), dst = p.decode.reserve("ok", TOKENS);
        p.prefill.fillRandom(src, TOKENS, 7);
        BlockOwner.Outcome decoded = p.decode.freeing("ok", false), sent = p.prefill.freeing("ok", true);
        OutgoingTransfer t = p.sender.start(p.receiver.grant(dst, TOKENS, Duration.ofSeconds(10), decoded), src, sent);
        t.allLayersReady(0, TOKENS);
        await().atMost(Duration.ofSeconds(10)).until(() -> decoded.done() && sent.done());
        assertThat(decoded.succeeded()).isTrue();
        assertSameRows(src, dst);
        p.decode.free("ok");
        assertThat(p.allFree()).as("all blocks free: prefill %d/%d, decode %d/%d", p.prefill.freeBlocks(), p.prefill.numBlocks(),
                p.decode.freeBlocks(), p.decode.numBlocks()).isTrue();
    }
}
