package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCodec;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Whole transfers over both transports: every row lands where the receiver's table says, outcomes are exact, no block leaks. */
class TransferTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    /** Different block sizes on the two sides, V heads narrower than K heads, a token count that fills no block. */
    static KvLayout layout(KvType type, int blockSize) {
        return new KvLayout(3, 2, 8, 6, blockSize, type);
    }

    static Stream<Arguments> combinations() {
        List<Arguments> out = new ArrayList<>();
        for (Pair.Kind kind : Pair.Kind.values()) {
            out.add(Arguments.of(kind, KvType.F32, null, KvType.F32));
            out.add(Arguments.of(kind, KvType.F32, WireType.F16, KvType.F32));
            out.add(Arguments.of(kind, KvType.F16, null, KvType.F32));
            out.add(Arguments.of(kind, KvType.F32, null, KvType.BF16));
            out.add(Arguments.of(kind, KvType.BF16, null, KvType.BF16));
            out.add(Arguments.of(kind, KvType.F32, WireType.INT8, KvType.F32));
            out.add(Arguments.of(kind, KvType.F16, WireType.INT8, KvType.F16));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: {1} storage, wire {2}, into {3}")
    @MethodSource("combinations")
    void everyRowLandsInTheGrantedBlocks(Pair.Kind kind, KvType srcType, WireType wire, KvType dstType) {
        int tokens = 37;
        try (Pair p = new Pair(kind, layout(srcType, 4), layout(dstType, 8), wire)) {
            BlockTable src = p.prefill.reserve("r", tokens);
            p.prefill.fillRandom(src, tokens, 42);
            BlockTable dst = p.decode.reserveShuffled("r", tokens);
            BlockOwner.Outcome decoded = p.decode.freeing("r", false);
            KvGrant grant = p.receiver.grant(dst, tokens, WAIT, decoded);
            BlockOwner.Outcome sent = p.prefill.freeing("r", true);
            OutgoingTransfer t = p.sender.start(grant, src, sent);

            // Chunks of 10 tokens, layer by layer, as a chunked prefill would report them.
            for (int first = 0; first < tokens; first += 10) {
                for (int layer = 0; layer < 3; layer++) t.layerReady(layer, first, Math.min(10, tokens - first));
            }
            await().atMost(WAIT).until(() -> decoded.done() && sent.done());
            assertThat(decoded.calls).containsExactly("succeeded");
            assertThat(sent.calls).containsExactly("succeeded");

            WireType w = wire == null ? WireType.of(srcType) : wire;
            for (int layer = 0; layer < 3; layer++) {
                for (int pos = 0; pos < tokens; pos++) {
                    float[] expected = p.prefill.row(src, layer, pos), got = p.decode.row(dst, layer, pos);
                    if (w == WireType.INT8) assertInt8Close(expected, got, dstType);
                    else assertThat(got).as("layer %d token %d", layer, pos).containsExactly(roundTrip(dstType, roundTrip(w.kvType, expected)));
                }
            }
            assertThat(p.prefill.allFree()).as("prefill freed on ACK").isTrue();
            p.decode.free("r"); // the request, admitted, finishes
            assertThat(p.allFree()).isTrue();
            assertThat(p.sender.stats().succeeded()).isEqualTo(1);
            assertThat(p.receiver.stats().succeeded()).isEqualTo(1);
            assertThat(p.sender.stats().live() + p.receiver.stats().live()).isZero();
            assertThat(p.receiver.stats().rowsDuplicated()).isZero();
        }
    }

    static Stream<Arguments> randomTables() {
        List<Arguments> out = new ArrayList<>();
        for (Pair.Kind kind : Pair.Kind.values()) {
            out.add(Arguments.of(kind, KvType.F32, 4, KvType.F32, 4));
            out.add(Arguments.of(kind, KvType.F32, 3, KvType.F32, 5));
            out.add(Arguments.of(kind, KvType.BF16, 1, KvType.BF16, 2));
            out.add(Arguments.of(kind, KvType.F32, 4, KvType.F16, 3));
        }
        return out.stream();
    }

    /**
     * Source and destination tables made of runs of consecutive ids of odd lengths, with gaps, reversed stretches and
     * runs out of order (BlockRunsTest.randomIds): frames follow the source's runs and land by the destination's, and
     * every row arrives exactly as the per-token reading of both tables says.
     */
    @ParameterizedTest(name = "{0}: {1}/{2} into {3}/{4}")
    @MethodSource("randomTables")
    void rowsLandExactlyWhateverTheRunsOfBlockIds(Pair.Kind kind, KvType srcType, int srcBlock, KvType dstType, int dstBlock) {
        Random r = new Random(srcBlock * 31 + dstBlock);
        try (Pair p = new Pair(kind, layout(srcType, srcBlock), layout(dstType, dstBlock), null)) {
            for (int trial = 0; trial < 4; trial++) {
                int tokens = 5 + r.nextInt(25);
                BlockTable src = new BlockTable(BlockRunsTest.randomIds(r, p.prefill.layout().blocksForTokens(tokens), 64), srcBlock);
                BlockTable dst = new BlockTable(BlockRunsTest.randomIds(r, p.decode.layout().blocksForTokens(tokens), 64), dstBlock);
                p.prefill.fillRandom(src, tokens, trial);
                BlockOwner.Outcome decoded = new BlockOwner.Outcome(() -> { }, false), sent = new BlockOwner.Outcome(() -> { }, false);
                OutgoingTransfer t = p.sender.start(p.receiver.grant(dst, tokens, WAIT, decoded), src, sent);
                for (int first = 0; first < tokens; first += 7) { // chunks that cut blocks anywhere
                    for (int layer = 0; layer < 3; layer++) t.layerReady(layer, first, Math.min(7, tokens - first));
                }
                await().atMost(WAIT).until(() -> decoded.done() && sent.done());
                assertThat(decoded.calls).containsExactly("succeeded");
                assertThat(sent.calls).containsExactly("succeeded");
                for (int layer = 0; layer < 3; layer++) {
                    for (int pos = 0; pos < tokens; pos++) {
                        assertThat(p.decode.row(dst, layer, pos)).as("%s -> %s, layer %d token %d", src, dst, layer, pos)
                                .containsExactly(roundTrip(dstType, roundTrip(srcType, p.prefill.row(src, layer, pos))));
                    }
                }
            }
        }
    }

    /** Each (token, head) of K and V within half a quantization step (amax / 254), then the storage type's rounding. */
    static void assertInt8Close(float[] expected, float[] got, KvType dstType) {
        int dim = 8, vdim = 6, heads = 2;
        int o = 0;
        for (int[] part : new int[][] {{heads, dim}, {heads, vdim}}) {
            for (int h = 0; h < part[0]; h++) {
                float amax = 0;
                for (int i = 0; i < part[1]; i++) amax = Math.max(amax, Math.abs(expected[o + i]));
                for (int i = 0; i < part[1]; i++) {
                    float tol = amax / 254f * 1.0001f + (dstType == KvType.F32 ? 0 : Math.abs(expected[o + i]) / 512f + 1e-3f);
                    assertThat(Math.abs(got[o + i] - expected[o + i])).isLessThanOrEqualTo(tol);
                }
                o += part[1];
            }
        }
    }

    /** {@code x} stored as {@code type} and read back. */
    static float[] roundTrip(KvType type, float[] x) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) x.length * type.bytes);
            KvCodec.encodeScalar(type, x, 0, s, 0, x.length);
            float[] out = new float[x.length];
            KvCodec.decodeScalar(type, s, 0, out, 0, x.length);
            return out;
        }
    }

    @ParameterizedTest
    @EnumSource(Pair.Kind.class)
    void manyTransfersShareOneLinkFromSeveralThreads(Pair.Kind kind) throws Exception {
        int n = 8, tokens = 23;
        try (Pair p = new Pair(kind, layout(KvType.F32, 4), layout(KvType.F32, 4), null);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<BlockTable> srcs = new ArrayList<>(), dsts = new ArrayList<>();
            List<BlockOwner.Outcome> decoded = new ArrayList<>(), sent = new ArrayList<>();
            List<Future<?>> jobs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "r" + i;
                BlockTable src = p.prefill.reserve(id, tokens);
                p.prefill.fillRandom(src, tokens, i);
                BlockTable dst = p.decode.reserve(id, tokens);
                srcs.add(src);
                dsts.add(dst);
                BlockOwner.Outcome d = p.decode.freeing(id, true), s = p.prefill.freeing(id, true);
                decoded.add(d);
                sent.add(s);
                KvGrant g = p.receiver.grant(dst, tokens, WAIT, d);
                int seed = i;
                jobs.add(pool.submit(() -> {
                    OutgoingTransfer t = p.sender.start(g, src, s);
                    // Layers in a random order, tokens one at a time: frames of all transfers interleave on the link.
                    List<Integer> layers = new ArrayList<>(List.of(0, 1, 2));
                    Collections.shuffle(layers, new Random(seed));
                    for (int layer : layers) for (int pos = 0; pos < tokens; pos++) t.layerReady(layer, pos, 1);
                }));
            }
            for (Future<?> f : jobs) f.get();
            await().atMost(WAIT).until(() -> decoded.stream().allMatch(BlockOwner.Outcome::done) && sent.stream().allMatch(BlockOwner.Outcome::done));
            for (int i = 0; i < n; i++) {
                assertThat(decoded.get(i).calls).containsExactly("succeeded");
                assertThat(sent.get(i).calls).containsExactly("succeeded");
            }
            assertThat(p.sender.stats().linksOpened()).isEqualTo(1);
            assertThat(p.receiver.stats().linksOpened()).isEqualTo(1);
            assertThat(p.allFree()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(Pair.Kind.class)
    void refusesAnotherModelWithAClearError(Pair.Kind kind) {
        ModelFingerprint other = ModelFingerprint.synthetic("another-model");
        try (Pair p = new Pair(kind, layout(KvType.F32, 4), layout(KvType.F32, 4), null, other, Pair.MODEL)) {
            BlockTable dst = p.decode.reserve("r", 8);
            BlockOwner.Outcome decoded = p.decode.freeing("r", true);
            KvGrant g = p.receiver.grant(dst, 8, Duration.ofMillis(300), decoded);
            BlockTable src = p.prefill.reserve("r", 8);
            // The sender checks the grant itself first ...
            assertThatThrownBy(() -> p.sender.start(g, src, p.prefill.freeing("r", true)))
                    .isInstanceOf(KvTransferException.class)
                    .hasMessageContaining("is for model " + Pair.MODEL).hasMessageContaining("this worker runs model " + other);
            // ... and a sender that lies about its grant is refused by the receiver's handshake.
            KvGrant forged = new KvGrant(g.transferId(), g.destination(), g.layout(), g.blockIds(), g.tokens(), g.leaseDeadlineMillis(), other);
            assertThatThrownBy(() -> p.sender.start(forged, src, p.prefill.freeing("r", true)))
                    .isInstanceOf(KvTransferException.class)
                    .satisfies(e -> assertThat(((KvTransferException) e).code()).isEqualTo(FailureCode.MODEL_MISMATCH))
                    .hasMessageContaining("refused").hasMessageContaining("KV from model " + other);
            assertThat(p.receiver.stats().linksRefused()).isEqualTo(1);
            p.prefill.free("r");
            await().atMost(WAIT).until(decoded::done); // the grant that never got data expires
            assertThat(decoded.failure.code()).isEqualTo(FailureCode.LEASE_EXPIRED);
            assertThat(p.allFree()).isTrue();
        }
    }

    @Test
    void refusesAnotherKvShape() {
        try (Pair p = new Pair(Pair.Kind.TCP, new KvLayout(3, 2, 8, 8, 4, KvType.F32), new KvLayout(3, 4, 8, 8, 4, KvType.F32), null)) {
            BlockTable dst = p.decode.reserve("r", 8);
            KvGrant g = p.receiver.grant(dst, 8, Duration.ofMillis(200), p.decode.freeing("r", true));
            BlockTable src = p.prefill.reserve("r", 8);
            assertThatThrownBy(() -> p.sender.start(g, src, p.prefill.freeing("r", true)))
                    .isInstanceOf(KvTransferException.class)
                    .hasMessageContaining("expects 3 layers x 4 KV heads x 8/8 dims, this worker has 3 layers x 2 KV heads x 8/8 dims");
            KvGrant forged = new KvGrant(g.transferId(), g.destination(), new KvLayout(3, 2, 8, 8, 4, KvType.F32), new int[] {0, 1},
                    8, g.leaseDeadlineMillis(), g.fingerprint());
            assertThatThrownBy(() -> p.sender.start(forged, src, p.prefill.freeing("r", true)))
                    .isInstanceOf(KvTransferException.class).hasMessageContaining("KV layout mismatch");
            p.prefill.free("r");
            await().atMost(WAIT).until(() -> p.decode.allFree());
        }
    }

    @Test
    void anExpiredGrantDoesNotStart() {
        try (Pair p = new Pair(Pair.Kind.INPROC, layout(KvType.F32, 4), layout(KvType.F32, 4), null)) {
            BlockTable dst = p.decode.reserve("r", 4);
            KvGrant g = p.receiver.grant(dst, 4, Duration.ofMillis(200), p.decode.freeing("r", true));
            KvGrant old = new KvGrant(g.transferId(), g.destination(), g.layout(), g.blockIds(), 4, System.currentTimeMillis() - 1, g.fingerprint());
            assertThatThrownBy(() -> p.sender.start(old, p.prefill.reserve("r", 4), p.prefill.freeing("r", true)))
                    .isInstanceOf(KvTransferException.class).hasMessageContaining("has expired");
            p.prefill.free("r");
            await().atMost(WAIT).until(() -> p.allFree());
        }
    }

    @ParameterizedTest
    @EnumSource(Pair.Kind.class)
    void cancelOnEitherSideFreesBothSides(Pair.Kind kind) {
        try (Pair p = new Pair(kind, layout(KvType.F32, 4), layout(KvType.F32, 4), null)) {
            for (boolean receiverCancels : new boolean[] {true, false}) {
                BlockTable src = p.prefill.reserve("r", 12), dst = p.decode.reserve("r", 12);
                BlockOwner.Outcome decoded = p.decode.freeing("r", true), sent = p.prefill.freeing("r", true);
                KvGrant g = p.receiver.grant(dst, 12, WAIT, decoded);
                OutgoingTransfer t = p.sender.start(g, src, sent);
                long received = p.receiver.stats().framesReceived();
                t.layerReady(0, 0, 12);
                await().atMost(WAIT).until(() -> p.receiver.stats().framesReceived() > received);
                if (receiverCancels) p.receiver.cancel(g.transferId(), "client went away");
                else t.abort("client went away");
                await().atMost(WAIT).until(() -> decoded.done() && sent.done());
                assertThat(decoded.failure.code()).isEqualTo(FailureCode.CANCELLED);
                assertThat(sent.failure.code()).isEqualTo(FailureCode.CANCELLED);
                assertThat(receiverCancels ? sent.failure.fromPeer() : decoded.failure.fromPeer()).isTrue();
                t.layerReady(1, 0, 12); // after the end: ignored
                assertThat(p.allFree()).isTrue();
            }
        }
    }

    @Test
    void grantRoundTripsThroughBytesAndRejectsDamage() {
        KvGrant g = new KvGrant(0x1234_5678_9abc_def0L, "tcp://127.0.0.1:7070", layout(KvType.BF16, 16), new int[] {5, 3, 9}, 40,
                1_700_000_000_000L, Pair.MODEL);
        byte[] b = g.encode();
        assertThat(KvGrant.decode(b)).isEqualTo(g);
        for (int cut = 0; cut < b.length; cut++) {
            byte[] shorter = java.util.Arrays.copyOf(b, cut);
            assertThatThrownBy(() -> KvGrant.decode(shorter)).isInstanceOf(IllegalArgumentException.class);
        }
        byte[] longer = java.util.Arrays.copyOf(b, b.length + 1);
        assertThatThrownBy(() -> KvGrant.decode(longer)).hasMessageContaining("after the grant");
        assertThatThrownBy(() -> new KvGrant(1, "x", layout(KvType.F32, 16), new int[] {1}, 40, 0, Pair.MODEL))
                .hasMessageContaining("40 tokens need 3 blocks");
    }
}
