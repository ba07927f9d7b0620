package io.baton.worker.bench;

import io.baton.engine.Model;
import io.baton.engine.kv.BlockPool;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvCacheManager;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import io.baton.engine.model.SequenceChunk;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Engine throughput with llama.cpp's {@code llama-bench} definitions, so the numbers compare one to one:
 * <ul>
 *   <li>{@code ppN}: one prompt of N tokens processed in one forward step, from an empty KV cache; tokens/s = N / time.</li>
 *   <li>{@code tgN}: N tokens generated one at a time from an empty cache (one token per step); tokens/s = N / time.</li>
 *   <li>{@code batchB}: B sequences decoding together, one token each per step (after a short prompt each), over
 *   {@code gen} steps; aggregate tokens/s = B × steps / time. Batching reads the weights once per step for all B.</li>
 * </ul>
 * Each test runs once to warm up (JIT, page cache), then {@code repetitions} times; results are mean ± sample stddev.
 * Token ids are random (seeded) below the vocabulary size: speed does not depend on which tokens run.
 */
public final class EngineBench {
    /** One test's result. */
    public record Result(String test, double tokensPerSecond, double stddev, int threads, String model, String type) {}

    private final Model model;
    private final int threads;
    private final int repetitions;
    private final String modelName;
    private final String type;
    private final Random random = new Random(1234);

    public EngineBench(Model model, String modelName, int threads, int repetitions) {
        this.model = model;
        this.threads = threads;
        this.repetitions = repetitions;
        this.modelName = modelName;
        this.type = model.weightType();
    }

    public Result prompt(int n) {
        return measure("pp" + n, () -> {
            try (var seq = model.newSequence(n)) {
                long t0 = System.nanoTime();
                seq.forward(tokens(n), false);
                return n / seconds(t0);
            }
        });
    }

    public Result generate(int n) {
        return measure("tg" + n, () -> {
            try (var seq = model.newSequence(n)) {
                int[] one = tokens(1);
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) seq.forward(one, false);
                return n / seconds(t0);
            }
        });
    }

    /** Aggregate decode of {@code batch} sequences over {@code steps} steps, each after a 16-token prompt. */
    public Result batch(int batch, int steps) {
        int prompt = 16;
        KvLayout layout = KvLayout.of(model.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
        int perSeq = layout.blocksForTokens(prompt + steps);
        return measure("batch" + batch, () -> {
            try (KvStorage kv = KvStorage.allocate(layout, batch * perSeq)) {
                BlockTable[] tables = new BlockTable[batch];
                List<SequenceChunk> prefill = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    int[] ids = new int[perSeq];
                    for (int i = 0; i < perSeq; i++) ids[i] = b * perSeq + i;
                    tables[b] = new BlockTable(ids, layout.blockSize());
                    prefill.add(SequenceChunk.lastLogits(tokens(prompt), 0, tables[b]));
                }
                model.transformer().forward(prefill, kv);
                long t0 = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    List<SequenceChunk> step = new ArrayList<>(batch);
                    for (int b = 0; b < batch; b++) step.add(SequenceChunk.lastLogits(tokens(1), prompt + s, tables[b]));
                    model.transformer().forward(step, kv);
                }
                return (double) batch * steps / seconds(t0);
            }
        });
    }

    /**
     * {@code ppN_hitP}: a prompt of N tokens whose first P% (whole blocks) are already in the prefix cache, as vLLM's and
     * SGLang's prefix caching serve it: the cached blocks are looked up and shared, only the rest is computed.
     * Effective tokens/s = N / time, so its ratio to {@code ppN} is the speed-up the cache gives.
     */
    public Result prefixHit(int n, double fraction) {
        KvLayout layout = KvLayout.of(model.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
        int blocks = 2 * layout.blocksForTokens(n) + 2;
        int[] prefix = tokens((int) (n * fraction));
        int[] request = {0};
        try (KvStorage kv = KvStorage.allocate(layout, blocks)) {
            KvCacheManager mgr = new KvCacheManager(new BlockPool(blocks, layout.blockSize()), true);
            // Fill the cache with the shared prefix once (a previous request's prompt).
            int[] first = concat(prefix, tokens(n - prefix.length));
            BlockTable t0 = mgr.allocateSlots("warm", first, 0, n).orElseThrow();
            model.transformer().forward(List.of(SequenceChunk.lastLogits(first, 0, t0)), kv);
            mgr.cacheFullBlocks("warm", first, n);
            mgr.free("warm");
            return measure("pp" + n + "_hit" + Math.round(fraction * 100), () -> {
                String id = "r" + request[0]++;
                int[] prompt = concat(prefix, tokens(n - prefix.length));
                long t0n = System.nanoTime();
                int hit = mgr.computedPrefix(id, prompt);
                BlockTable table = mgr.allocateSlots(id, prompt, hit, n - hit).orElseThrow();
                model.transformer().forward(List.of(SequenceChunk.lastLogits(java.util.Arrays.copyOfRange(prompt, hit, n), hit, table)), kv);
                double tps = n / seconds(t0n);
                mgr.free(id);
                return tps;
            });
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /**
     * {@code tg_roof}: the decode tokens/s this machine's memory allows in this run, i.e. how fast the engine's threads
     * read the weights one decode step reads ({@link io.baton.engine.tensor.MemoryRoof}) divided by their size.
     * Compare {@code tgN} with it: their ratio is the share of the memory bandwidth decode uses.
     */
    public Result decodeRoof() {
        var matrices = model.transformer().weights().decodeMatrices();
        long bytes = io.baton.engine.tensor.MemoryRoof.bytes(matrices);
        return measure("tg_roof", () -> io.baton.engine.tensor.MemoryRoof.readBytesPerSecond(matrices, model.transformer().pool()) / bytes);
    }

    /**
     * {@code batch_roof}: the batched-decode tokens/s that the float32 FMA peak of the engine's threads allows in this
     * run ({@link io.baton.engine.tensor.ComputeRoof}: flops per second over 2 flops per weight per token, attention
     * left out). Compare {@code batchN} with it: their ratio is the share of the FMA peak a batched step uses.
     */
    public Result batchRoof() {
        long flops = io.baton.engine.tensor.ComputeRoof.flopsPerToken(model.transformer().weights().decodeMatrices());
        return measure("batch_roof", () -> io.baton.engine.tensor.ComputeRoof.flopsPerSecond(model.transformer().pool()) / flops);
    }

    private interface Run {
        double tokensPerSecond();
    }

    private Result measure(String test, Run run) {
        run.tokensPerSecond(); // warm-up
        double[] v = new double[repetitions];
        for (int i = 0; i < repetitions; i++) v[i] = run.tokensPerSecond();
        double mean = 0;
        for (double x : v) mean += x;
        mean /= v.length;
        double var = 0;
        for (double x : v) var += (x - mean) * (x - mean);
        double sd = v.length > 1 ? Math.sqrt(var / (v.length - 1)) : 0;
        return new Result(test, mean, sd, threads, modelName, type);
    }

    private int[] tokens(int n) {
        int[] t = new int[n];
        int vocab = model.config().vocabSize();
        for (int i = 0; i < n; i++) t[i] = random.nextInt(vocab);
        return t;
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
