package io.baton.engine.model;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.Sequence;
import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCacheManager;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Results do not depend on batching (paged-KV issue): a sequence's logits in a ragged batch of 32 equal its logits
 * alone, and a prefix-cache hit gives the logits of a full recompute (F32 KV, relative L2 ≤ 1e-5).
 */
class BatchInvarianceTest {
    static final double TOL = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "qwen3-tiny-Q8_0.gguf", "qwen2-tiny-Q8_0.gguf"})
    void batchOf32EqualsAlone(String file) {
        Random rnd = new Random(7);
        try (Model m = Model.load(Fixtures.model(file), 2)) {
            int vocab = m.config().vocabSize();
            int n = 32;
            int[][] prompts = new int[n][];
            int[] next = new int[n];
            for (int i = 0; i < n; i++) {
                prompts[i] = rnd.ints(1 + rnd.nextInt(40), 3, Math.min(vocab, 500)).toArray();
                next[i] = 3 + rnd.nextInt(400);
            }
            // alone: the prompt, then one decode token
            float[][] alonePrompt = new float[n][], aloneNext = new float[n][];
            for (int i = 0; i < n; i++) {
                try (Sequence s = m.newSequence(64)) {
                    alonePrompt[i] = s.forward(prompts[i], false);
                    aloneNext[i] = s.forward(new int[] {next[i]}, false);
                }
            }
            KvLayout layout = KvLayout.of(m.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            try (KvStorage kv = KvStorage.allocate(layout, n * 4)) {
                BlockTable[] tables = new BlockTable[n];
                for (int i = 0; i < n; i++) {
                    int[] ids = {4 * i + 3, 4 * i + 1, 4 * i, 4 * i + 2}; // scattered, out of order
                    tables[i] = new BlockTable(ids, layout.blockSize());
                }
                // step 1: every prompt at once
                List<SequenceChunk> step1 = new ArrayList<>();
                for (int i = 0; i < n; i++) step1.add(SequenceChunk.lastLogits(prompts[i], 0, tables[i]));
                float[] l1 = m.transformer().forward(step1, kv);
                // step 2: a decode token for the even ones, nothing for the odd ones
                List<SequenceChunk> step2 = new ArrayList<>();
                for (int i = 0; i < n; i += 2) step2.add(SequenceChunk.lastLogits(new int[] {next[i]}, prompts[i].length, tables[i]));
                float[] l2 = m.transformer().forward(step2, kv);
                for (int i = 0; i < n; i++) {
                    assertThat(relL2(Arrays.copyOfRange(l1, i * vocab, (i + 1) * vocab), alonePrompt[i])).as("prompt %d", i).isLessThanOrEqualTo(TOL);
                    if (i % 2 == 0) {
                        int r = i / 2;
                        assertThat(relL2(Arrays.copyOfRange(l2, r * vocab, (r + 1) * vocab), aloneNext[i])).as("decode %d", i).isLessThanOrEqualTo(TOL);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "llama3-tiny-Q8_0.gguf"})
    void prefixHitEqualsRecompute(String file) {
        Random rnd = new Random(11);
        try (Model m = Model.load(Fixtures.model(file), 2)) {
            int vocab = Math.min(m.config().vocabSize(), 500);
            int[] shared = rnd.ints(40, 3, vocab).toArray();
            int[] a = concat(shared, rnd.ints(5, 3, vocab).toArray());
            int[] b = concat(shared, rnd.ints(9, 3, vocab).toArray());
            float[] full;
            try (Sequence s = m.newSequence(64)) {
                full = s.forward(b, false);
            }
            KvLayout layout = KvLayout.of(m.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            KvCacheManager mgr = new KvCacheManager(new BlockPool(16, layout.blockSize()), true);
            try (KvStorage kv = KvStorage.allocate(layout, 16)) {
                BlockTable ta = mgr.allocateSlots("a", a, 0, a.length).orElseThrow();
                m.transformer().forward(List.of(SequenceChunk.lastLogits(a, 0, ta)), kv);
                mgr.cacheFullBlocks("a", a, a.length);
                mgr.free("a");
                int hit = mgr.computedPrefix("b", b);
                assertThat(hit).isEqualTo(32); // two full blocks of 16 shared
                BlockTable tb = mgr.allocateSlots("b", b, hit, b.length - hit).orElseThrow();
                float[] cached = m.transformer().forward(List.of(SequenceChunk.lastLogits(Arrays.copyOfRange(b, hit, b.length), hit, tb)), kv);
                assertThat(relL2(cached, full)).isLessThanOrEqualTo(TOL);
                assertThat(cached.length).isEqualTo(m.config().vocabSize());
            }
        }
    }

    private static int[] concat(int[] x, int[] y) {
        int[] r = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    static double relL2(float[] a, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = a[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }
}
