package io.baton.engine.kv;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class KvStorageTest {
    /** Odd sizes everywhere: 3 heads of 5 (K) and 7 (V), blocks of 3 tokens. */
    private static KvLayout odd(KvType t) {
        return new KvLayout(2, 3, 5, 7, 3, t);
    }

    /** What a stored float reads back as, by the scalar reference rules. */
    private static float rounded(KvType t, float x) {
        return switch (t) {
            case F32 -> x;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case BF16 -> KvCodec.bf16ToFloat(KvCodec.floatToBf16(x));
        };
    }

    @Test
    void roundTripsEveryRowOfEveryType() {
        for (KvType t : KvType.values()) {
            KvLayout l = odd(t);
            int blocks = 4;
            Random r = new Random(7);
            float[][][][] k = new float[l.layers()][blocks][l.blockSize()][];
            float[][][][] v = new float[l.layers()][blocks][l.blockSize()][];
            try (KvStorage s = KvStorage.allocate(l, blocks)) {
                for (int layer = 0; layer < l.layers(); layer++)
                    for (int b = 0; b < blocks; b++)
                        for (int slot = 0; slot < l.blockSize(); slot++) {
                            k[layer][b][slot] = gaussians(r, l.kRowWidth());
                            v[layer][b][slot] = gaussians(r, l.vRowWidth());
                            s.write(layer, b, slot, k[layer][b][slot], 0, v[layer][b][slot], 0);
                        }
                for (int layer = 0; layer < l.layers(); layer++)
                    for (int b = 0; b < blocks; b++) {
                        float[] ks = new float[l.blockSize() * l.kRowWidth()];
                        float[] vs = new float[l.blockSize() * l.vRowWidth()];
                        s.readK(layer, b, 0, l.blockSize(), ks, 0);
                        s.readV(layer, b, 0, l.blockSize(), vs, 0);
                        for (int slot = 0; slot < l.blockSize(); slot++) {
                            for (int i = 0; i < l.kRowWidth(); i++) {
                                float x = k[layer][b][slot][i];
                                assertThat(ks[slot * l.kRowWidth() + i]).isEqualTo(rounded(t, x));
                                assertThat(Math.abs(ks[slot * l.kRowWidth() + i] - x)).isLessThanOrEqualTo(relError(t) * Math.abs(x));
                            }
                            for (int i = 0; i < l.vRowWidth(); i++) {
                                assertThat(vs[slot * l.vRowWidth() + i]).isEqualTo(rounded(t, v[layer][b][slot][i]));
                            }
                        }
                        // A partial read of the middle slot lands where asked.
                        float[] one = new float[l.kRowWidth() + 2];
                        s.readK(layer, b, 1, 1, one, 2);
                        for (int i = 0; i < l.kRowWidth(); i++) assertThat(one[2 + i]).isEqualTo(rounded(t, k[layer][b][1][i]));
                    }
            }
        }
    }

    private static float relError(KvType t) {
        return switch (t) {
            case F32 -> 0f;
            case F16 -> 0x1p-11f; // 11-bit significand, round to nearest (values here are far from f16 subnormals)
            case BF16 -> 0x1p-8f;
        };
    }

    @Test
    void dotKAndAddScaledVReadOneHead() {
        for (KvType t : KvType.values()) {
            KvLayout l = odd(t);
            Random r = new Random(11);
            try (KvStorage s = KvStorage.allocate(l, 2)) {
                float[] k = gaussians(r, l.kRowWidth());
                float[] v = gaussians(r, l.vRowWidth());
                s.write(1, 1, 2, k, 0, v, 0);
                float[] q = gaussians(r, l.headDim() + 1);
                for (int h = 0; h < l.kvHeads(); h++) {
                    float want = 0;
                    for (int i = 0; i < l.headDim(); i++) want += rounded(t, k[h * l.headDim() + i]) * q[1 + i];
                    assertThat(s.dotK(1, 1, 2, h, q, 1)).as("%s head %d", t, h).isCloseTo(want, within(1e-5f));
                    float[] out = {1, 2, 3, 4, 5, 6, 7, 8};
                    s.addScaledV(1, 1, 2, h, 0.5f, out, 1);
                    assertThat(out[0]).isEqualTo(1);
                    for (int i = 0; i < l.valueDim(); i++) {
                        assertThat(out[1 + i]).isCloseTo(2 + i + 0.5f * rounded(t, v[h * l.valueDim() + i]), within(1e-6f));
                    }
                }
            }
        }
    }

    @Test
    void blockKernelsMatchRowByRowReference() {
        for (KvType t : KvType.values()) {
            // headDim 37 and valueDim 19: a vector body plus a scalar tail on any vector width.
            KvLayout l = new KvLayout(1, 2, 37, 19, 5, t);
            Random r = new Random(13);
            try (KvStorage s = KvStorage.allocate(l, 3)) {
                float[][] k = new float[5][];
                float[][] v = new float[5][];
                for (int slot = 0; slot < 5; slot++) {
                    k[slot] = gaussians(r, l.kRowWidth());
                    v[slot] = gaussians(r, l.vRowWidth());
                    s.write(0, 2, slot, k[slot], 0, v[slot], 0);
                }
                float[] q = gaussians(r, 2 + l.headDim());
                float[] p = gaussians(r, 6);
                for (int head = 0; head < 2; head++) {
                    for (int slots : new int[] {0, 3, 5}) {
                        float[] scores = new float[slots + 1];
                        s.dotKBlock(0, 2, slots, head, q, 2, scores, 1);
                        float[] out = gaussians(new Random(head), l.valueDim());
                        float[] want = out.clone();
                        s.addScaledVBlock(0, 2, slots, head, p, 1, out, 0);
                        for (int slot = 0; slot < slots; slot++) {
                            float dot = 0;
                            for (int i = 0; i < l.headDim(); i++) dot += rounded(t, k[slot][head * l.headDim() + i]) * q[2 + i];
                            assertThat(scores[1 + slot]).as("%s head %d slot %d", t, head, slot).isCloseTo(dot, within(1e-5f));
                            for (int i = 0; i < l.valueDim(); i++) want[i] += p[1 + slot] * rounded(t, v[slot][head * l.valueDim() + i]);
                        }
                        assertThat(scores[0]).isZero();
                        for (int i = 0; i < l.valueDim(); i++) assertThat(out[i]).isCloseTo(want[i], within(1e-5f));
                    }
                }
                assertThatThrownBy(() -> s.dotKBlock(0, 2, 6, 0, q, 0, new float[6], 0)).isInstanceOf(IndexOutOfBoundsException.class);
                assertThatThrownBy(() -> s.dotKBlock(0, 2, 5, 0, q, 2, new float[4], 0)).isInstanceOf(IndexOutOfBoundsException.class);
            }
        }
    }

    @Test
    void rowSpansAreLaidOutAsDocumented() {
        KvLayout l = odd(KvType.F32);
        try (KvStorage s = KvStorage.allocate(l, 3)) {
            assertThat(s.byteSize()).isEqualTo(l.layers() * 3 * l.blockBytesPerLayer());
            assertThat(s.layerSegment(1).byteSize()).isEqualTo(3 * l.blockBytesPerLayer());
            float[] k = new float[l.kRowWidth()];
            float[] v = new float[l.vRowWidth()];
            // Fill every row with a value naming (layer, block, slot), K positive and V negative.
            for (int layer = 0; layer < 2; layer++)
                for (int b = 0; b < 3; b++)
                    for (int slot = 0; slot < 3; slot++) {
                        java.util.Arrays.fill(k, 100 * layer + 10 * b + slot);
                        java.util.Arrays.fill(v, -(100 * layer + 10 * b + slot));
                        s.write(layer, b, slot, k, 0, v, 0);
                    }
            long kRow = l.kRowWidth() * 4L, vRow = l.vRowWidth() * 4L;
            for (int layer = 0; layer < 2; layer++) {
                MemorySegment layerSeg = s.layerSegment(layer);
                // Inside a layer: every block's K rows in (block, slot) order, then every block's V rows.
                for (int b = 0; b < 3; b++)
                    for (int slot = 0; slot < 3; slot++) {
                        long kAt = (b * 3L + slot) * kRow, vAt = 9 * kRow + (b * 3L + slot) * vRow;
                        assertThat(layerSeg.get(KvCodec.F32, kAt)).isEqualTo(100f * layer + 10 * b + slot);
                        assertThat(layerSeg.get(KvCodec.F32, kAt + kRow - 4)).isEqualTo(100f * layer + 10 * b + slot);
                        assertThat(layerSeg.get(KvCodec.F32, vAt)).isEqualTo(-(100f * layer + 10 * b + slot));
                        assertThat(layerSeg.get(KvCodec.F32, vAt + vRow - 4)).isEqualTo(-(100f * layer + 10 * b + slot));
                    }
                // A span from block 0 slot 2 runs on into blocks 1 and 2.
                MemorySegment ks = s.kRows(layer, 0, 2, 5), vs = s.vRows(layer, 0, 2, 5);
                assertThat(ks.byteSize()).isEqualTo(5 * kRow);
                assertThat(vs.byteSize()).isEqualTo(5 * vRow);
                for (int i = 0; i < 5; i++) {
                    int b = (2 + i) / 3, slot = (2 + i) % 3;
                    assertThat(ks.get(KvCodec.F32, i * kRow)).isEqualTo(100f * layer + 10 * b + slot);
                    assertThat(vs.get(KvCodec.F32, i * vRow + 4)).isEqualTo(-(100f * layer + 10 * b + slot));
                }
            }
            assertThat(s.kRows(1, 2, 3 - 1, 1).byteSize()).isEqualTo(kRow);
            assertThat(s.vRows(0, 1, 0, 0).byteSize()).isZero();
            assertThatThrownBy(() -> s.kRows(0, 2, 1, 3)).isInstanceOf(IndexOutOfBoundsException.class); // past the last block
            assertThatThrownBy(() -> s.vRows(2, 0, 0, 1)).isInstanceOf(IndexOutOfBoundsException.class); // no such layer
            assertThatThrownBy(() -> s.kRows(0, 0, 3, 1)).isInstanceOf(IndexOutOfBoundsException.class); // no such slot
        }
    }

    @Test
    void rawSegmentCopyMovesABlockBetweenStorages() {
        // What the KV transfer does: copy a block's K and V rows from one worker's storage to another's, no conversion.
        KvLayout l = odd(KvType.BF16);
        Random r = new Random(5);
        try (KvStorage a = KvStorage.allocate(l, 2); KvStorage b = KvStorage.allocate(l, 5)) {
            for (int slot = 0; slot < 3; slot++) a.write(1, 1, slot, gaussians(r, l.kRowWidth()), 0, gaussians(r, l.vRowWidth()), 0);
            b.kRows(1, 4, 0, 3).copyFrom(a.kRows(1, 1, 0, 3));
            b.vRows(1, 4, 0, 3).copyFrom(a.vRows(1, 1, 0, 3));
            float[] x = new float[3 * l.vRowWidth()];
            float[] y = new float[3 * l.vRowWidth()];
            a.readK(1, 1, 0, 3, x, 0);
            b.readK(1, 4, 0, 3, y, 0);
            assertThat(y).containsExactly(x);
            a.readV(1, 1, 0, 3, x, 0);
            b.readV(1, 4, 0, 3, y, 0);
            assertThat(y).containsExactly(x);
        }
    }

    @Test
    void budgetBecomesWholeBlocks() {
        KvLayout l = odd(KvType.F16);
        try (KvStorage s = KvStorage.allocateBudget(l, 5 * l.bytesPerBlock() + l.bytesPerBlock() - 1)) {
            assertThat(s.numBlocks()).isEqualTo(5);
        }
        assertThatThrownBy(() -> KvStorage.allocateBudget(l, l.bytesPerBlock() - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no block");
        assertThatThrownBy(() -> KvStorage.allocate(l, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsOutOfRangeIndicesAndUseAfterClose() {
        KvLayout l = odd(KvType.F32);
        KvStorage s = KvStorage.allocate(l, 2);
        float[] k = new float[l.kRowWidth()];
        assertThatThrownBy(() -> s.writeK(0, 0, 3, k, 0)).isInstanceOf(IndexOutOfBoundsException.class); // slot = blockSize
        assertThatThrownBy(() -> s.writeK(0, 2, 0, k, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.writeK(2, 0, 0, k, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.readK(0, 0, 2, 2, new float[100], 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.dotK(0, 0, 0, 3, k, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        s.readK(0, 0, 3, 0, new float[0], 0); // an empty read at the end is fine
        s.close();
        assertThatThrownBy(() -> s.writeK(0, 0, 0, k, 0)).isInstanceOf(IllegalStateException.class);
    }

    static float[] gaussians(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }
}
