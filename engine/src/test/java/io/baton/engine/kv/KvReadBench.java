package io.baton.engine.kv;

import java.util.Random;

/**
 * Not a test: a rough timing (thread CPU time, best of 5) of the attention-side reads per KV type, for the default-type choice in docs/kv-cache.md.
 * One layer of Qwen2.5-0.5B's shape (2 KV heads of 64, 14 query heads), one thread. One type per JVM, so that the JIT's
 * profile of one type does not shape the code of the next. Run after {@code ./mvnw -pl engine test-compile}:
 * <pre>for t in f32 f16 bf16; do java --add-modules jdk.incubator.vector -cp engine/target/classes:engine/target/test-classes io.baton.engine.kv.KvReadBench $t 1024 16384; done</pre>
 */
public final class KvReadBench {
    private KvReadBench() {}

    public static void main(String[] args) {
        if (args.length < 2) throw new IllegalArgumentException("usage: KvReadBench f32|f16|bf16 CONTEXT...");
        KvType t = KvType.parse(args[0]);
        for (int i = 1; i < args.length; i++) bench(t, Integer.parseInt(args[i]));
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** This thread's CPU time: on a shared 2-core machine, wall time mostly measures the neighbours. */
    private static long cpu() {
        return THREADS.getCurrentThreadCpuTime();
    }

    private static void bench(KvType t, int ctx) {
        KvLayout l = new KvLayout(1, 2, 64, 64, 16, t);
        int blocks = ctx / l.blockSize();
        try (KvStorage s = KvStorage.allocate(l, blocks)) {
            Random r = new Random(1);
            float[] row = new float[l.kRowWidth()];
            for (int b = 0; b < blocks; b++) {
                for (int slot = 0; slot < l.blockSize(); slot++) {
                    for (int i = 0; i < row.length; i++) row[i] = (float) r.nextGaussian();
                    s.write(0, b, slot, row, 0, row, 0);
                }
            }
            float[] buf = new float[l.blockSize() * l.kRowWidth()];
            float[] q = new float[14 * 64];
            for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian() * 0.01f;
            float[] scores = new float[l.blockSize()];
            float[] out = new float[64];
            double sink = 0;
            double bulk = 0, attn = 0, write = 0;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = cpu();
                int n = 0;
                while (cpu() - t0 < 300_000_000L) {
                    for (int b = 0; b < blocks; b++) {
                        s.readK(0, b, 0, l.blockSize(), buf, 0);
                        sink += buf[7];
                        s.readV(0, b, 0, l.blockSize(), buf, 0);
                        sink += buf[3];
                    }
                    n++;
                }
                double bulkNs = (cpu() - t0) / (double) n;
                t0 = cpu();
                n = 0;
                while (cpu() - t0 < 300_000_000L) {
                    for (int h = 0; h < 14; h++) {
                        for (int b = 0; b < blocks; b++) {
                            s.dotKBlock(0, b, l.blockSize(), h / 7, q, h * 64, scores, 0);
                            s.addScaledVBlock(0, b, l.blockSize(), h / 7, scores, 0, out, 0);
                        }
                    }
                    n++;
                }
                double attnNs = (cpu() - t0) / (double) n;
                t0 = cpu();
                n = 0;
                while (cpu() - t0 < 100_000_000L) {
                    for (int b = 0; b < Math.min(blocks, 64); b++) {
                        for (int slot = 0; slot < l.blockSize(); slot++) s.write(0, b, slot, row, 0, row, 0);
                    }
                    n++;
                }
                double writeNs = (cpu() - t0) / (double) n / (Math.min(blocks, 64) * l.blockSize());
                // Keep the best of the repetitions: the machine is shared, the minimum is the least disturbed.
                bulk = rep == 0 ? bulkNs : Math.min(bulk, bulkNs);
                attn = rep == 0 ? attnNs : Math.min(attn, attnNs);
                write = rep == 0 ? writeNs : Math.min(write, writeNs);
            }
            double bytes = (double) blocks * l.blockBytesPerLayer();
            System.out.printf("%-4s ctx=%6d  bulk readK+readV %8.1f us (%5.1f GB/s stored)  dotKBlock+addScaledVBlock x14 heads %8.1f us  write token %5.1f ns%n",
                    t, ctx, bulk / 1e3, bytes / bulk, attn / 1e3, write);
            if (sink == 42 || out[0] == 42) System.out.println();
        }
    }
}
