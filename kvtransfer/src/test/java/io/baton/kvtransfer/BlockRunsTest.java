package io.baton.kvtransfer;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The run-coalescing fast paths against their plain per-block references, on random block tables with gaps, reversed
 * stretches and runs of odd lengths: {@link BlockRuns#length}, the sender's frames ({@link FrameEncoder}) and the
 * receiver's landing ({@link RowLander#land} vs {@link RowLander#landPerBlock}).
 */
class BlockRunsTest {
    /** {@code n} distinct ids out of {@code pool}: runs of random length (1 to 9), some ascending, some reversed, with gaps. */
    static int[] randomIds(Random r, int n, int pool) {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int[] ids = randomIdsUnbounded(r, n);
            if (java.util.Arrays.stream(ids).allMatch(id -> id < pool)) return ids;
        }
        throw new IllegalStateException("pool of " + pool + " too small for " + n + " ids with gaps");
    }

    private static int[] randomIdsUnbounded(Random r, int n) {
        List<int[]> runs = new ArrayList<>();
        int next = r.nextInt(3);
        for (int left = n; left > 0; ) {
            int len = Math.min(left, 1 + r.nextInt(9));
            int[] run = new int[len];
            for (int i = 0; i < len; i++) run[i] = next + i;
            if (r.nextInt(4) == 0) for (int i = 0; i < len / 2; i++) { int t = run[i]; run[i] = run[len - 1 - i]; run[len - 1 - i] = t; }
            runs.add(run);
            next += len + (r.nextBoolean() ? 0 : 1 + r.nextInt(3)); // sometimes adjacent to the previous run, sometimes a gap
            left -= len;
        }
        Collections.shuffle(runs.subList(0, runs.size() / 2), r); // some runs out of order
        int[] out = new int[n];
        int i = 0;
        for (int[] run : runs) for (int id : run) out[i++] = id;
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 16})
    void runLengthMatchesAPlainWalk(int blockSize) {
        Random r = new Random(blockSize);
        for (int trial = 0; trial < 200; trial++) {
            int blocks = 1 + r.nextInt(20);
            BlockTable t = new BlockTable(randomIds(r, blocks, 10_000), blockSize);
            int p = r.nextInt(t.capacity()), end = p + 1 + r.nextInt(t.capacity() - p), max = 1 + r.nextInt(3 * blockSize + 5);
            // Reference: walk token by token while the next token is in the same block or in the next id.
            int n = 1;
            while (n < end - p && n < max) {
                int prev = t.blockOf(p + n - 1), cur = t.blockOf(p + n);
                if (cur != prev && cur != prev + 1) break;
                n++;
            }
            assertThat(BlockRuns.length(t, p, end, max)).as("%s from %d to %d, max %d", t, p, end, max).isEqualTo(n);
        }
    }

    static KvLayout layout(KvType type, int blockSize) {
        return new KvLayout(2, 3, 5, 7, blockSize, type);
    }

    static void fill(KvStorage s, Random r) {
        for (int l = 0; l < s.layout().layers(); l++) {
            MemorySegment seg = s.layerSegment(l);
            for (long i = 0; i < seg.byteSize(); i++) seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void framesHoldExactlyTheRowsOfTheirTokens(KvType type) {
        Random r = new Random(11);
        for (int blockSize : new int[] {1, 3, 8}) {
            KvLayout l = layout(type, blockSize);
            try (KvStorage src = KvStorage.allocate(l, 400)) {
                fill(src, r);
                FrameEncoder enc = new FrameEncoder(src, WireType.of(type));
                long kRow = (long) l.kRowWidth() * type.bytes, vRow = (long) l.vRowWidth() * type.bytes;
                for (int trial = 0; trial < 50; trial++) {
                    int tokens = 1 + r.nextInt(60);
                    BlockTable t = new BlockTable(randomIds(r, l.blocksForTokens(tokens), 400), blockSize);
                    int layer = r.nextInt(l.layers());
                    for (int p = r.nextInt(tokens); p < tokens; ) {
                        int n = BlockRuns.length(t, p, tokens, 1 + r.nextInt(20));
                        Frame.Data f = enc.frame(7, layer, t.blockOf(p), t.slotOf(p), n, p);
                        assertThat(f.count()).isEqualTo(n);
                        for (int i = 0; i < n; i++) {
                            MemorySegment k = src.kRows(layer, t.blockOf(p + i), t.slotOf(p + i), 1);
                            MemorySegment v = src.vRows(layer, t.blockOf(p + i), t.slotOf(p + i), 1);
                            assertThat(f.k().asSlice(i * kRow, kRow).mismatch(k)).as("K of token %d", p + i).isEqualTo(-1);
                            assertThat(f.v().asSlice(i * vRow, vRow).mismatch(v)).as("V of token %d", p + i).isEqualTo(-1);
                        }
                        p += n;
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void landingByRunsEqualsLandingBlockByBlock(KvType type) {
        Random r = new Random(23);
        for (int blockSize : new int[] {1, 3, 8}) {
            KvLayout l = layout(type, blockSize);
            long kRow = (long) l.kRowWidth() * type.bytes, vRow = (long) l.vRowWidth() * type.bytes;
            try (KvStorage fast = KvStorage.allocate(l, 400); KvStorage ref = KvStorage.allocate(l, 400);
                 java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                fill(fast, r);
                for (int layer = 0; layer < l.layers(); layer++) ref.layerSegment(layer).copyFrom(fast.layerSegment(layer));
                for (int trial = 0; trial < 50; trial++) {
                    int tokens = 1 + r.nextInt(70);
                    BlockTable t = new BlockTable(randomIds(r, l.blocksForTokens(tokens), 400), blockSize);
                    int first = r.nextInt(tokens), count = 1 + r.nextInt(tokens - first), layer = r.nextInt(l.layers());
                    MemorySegment k = arena.allocate(count * kRow), v = arena.allocate(count * vRow);
                    for (long i = 0; i < k.byteSize(); i++) k.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
                    for (long i = 0; i < v.byteSize(); i++) v.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) r.nextInt());
                    Frame.Data d = new Frame.Data(9, layer, first, count, WireType.of(type), k, v);
                    RowLander.land(fast, t, d);
                    RowLander.landPerBlock(ref, t, d);
                    for (int x = 0; x < l.layers(); x++) {
                        assertThat(fast.layerSegment(x).mismatch(ref.layerSegment(x))).as("%s, tokens %d+%d", t, first, count).isEqualTo(-1);
                    }
                }
            }
        }
    }
}
