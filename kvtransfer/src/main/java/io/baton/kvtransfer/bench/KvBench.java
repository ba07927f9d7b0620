package io.baton.kvtransfer.bench;

import io.baton.engine.Model;
import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import io.baton.engine.model.SequenceChunk;
import io.baton.engine.model.Transformer;
import io.baton.kvtransfer.KvGrant;
import io.baton.kvtransfer.KvReceiver;
import io.baton.kvtransfer.KvSender;
import io.baton.kvtransfer.LayerStreamer;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.kvtransfer.OutgoingTransfer;
import io.baton.kvtransfer.TransferFailure;
import io.baton.kvtransfer.TransferListener;
import io.baton.kvtransfer.WireType;
import io.baton.kvtransfer.transport.InProcessKvTransport;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.TcpKvTransport;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * KV transfer throughput against a plain {@code MemorySegment.copy} of the same bytes, measured in the same run
 * (docs/kv-transfer.md, "Measured"). A transfer is timed from {@link KvSender#start} to the sender's acknowledgement
 * (so every row has landed and been acknowledged) with all rows ready at once; each test runs once to warm up, then
 * {@code repetitions} times, and reports the best run (the least disturbed by other work on the machine).
 *
 * <p>Tests: {@code memcpy_SHAPE_Nk}, {@code inprocess_SHAPE_Nk}, {@code tcp_SHAPE_Nk} (GB/s of KV) for 1k, 8k and 32k
 * tokens of the qwen2.5-0.5b and llama-3.2-1b KV shapes (F32 KV, blocks of 16), {@code tcp_int8_SHAPE_Nk} (GB/s of
 * F32 KV delivered through the INT8 wire), and the ratios {@code inprocess_vs_memcpy} and {@code tcp_vs_memcpy} at 8k
 * tokens of qwen2.5-0.5b. For context, two floors measured in the same run: {@code memcpy_blocks_*} (the same copy
 * block by block into differently numbered blocks, as paging forces) and {@code tcp_raw_socket_*} (the bytes over a
 * bare loopback socket), with the ratios {@code inprocess_vs_memcpy_blocks} and {@code tcp_vs_raw_socket}. Those
 * transfers go into destination block ids in reverse order (every block a separate copy); {@code inprocess_runs_*} and
 * {@code tcp_runs_*} (ratios {@code inprocess_runs_vs_memcpy}, {@code tcp_runs_vs_memcpy}) go into consecutive ids, as a
 * fresh pool hands them out. {@link #ttftOverhead} measures what a transfer adds to a real prefill; it needs a model (the
 * lead wires a synthetic qwen2.5-0.5b-shaped one to {@code baton bench kv}). See {@link #main} for the command line.
 */
public final class KvBench {
    /** A KV shape: the numbers of the model family that matter for the cache. */
    public record Shape(String name, int layers, int kvHeads, int headDim) {
        public KvLayout layout(KvType type) {
            return new KvLayout(layers, kvHeads, headDim, headDim, KvLayout.DEFAULT_BLOCK_SIZE, type);
        }
    }

    public static final Shape QWEN_05B = new Shape("qwen2.5-0.5b", 24, 2, 64);
    public static final Shape LLAMA_1B = new Shape("llama-3.2-1b", 16, 8, 64);

    /** One number, printed as {@code {"test": NAME, "value": X, "unit": U}}. */
    public record Result(String test, double value, String unit) {
        public String json() {
            return String.format(Locale.ROOT, "{\"test\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}", test, value, unit);
        }
    }

    private static final Duration LEASE = Duration.ofMinutes(2);
    private final int repetitions;

    public KvBench(int repetitions) {
        if (repetitions < 1) throw new IllegalArgumentException("repetitions must be at least 1");
        this.repetitions = repetitions;
    }

    // ---- throughput ----

    /** The standard set: every shape at 1k, 8k and 32k tokens, then the two ratios at 8k of qwen2.5-0.5b. */
    public List<Result> standard(int[] tokenCounts) {
        List<Result> out = new ArrayList<>();
        double[] ratios = null;
        for (Shape s : List.of(QWEN_05B, LLAMA_1B)) {
            for (int tokens : tokenCounts) {
                Throughput t = throughput(s, tokens, true);
                String suffix = "_" + s.name() + "_" + (tokens % 1024 == 0 ? tokens / 1024 + "k" : String.valueOf(tokens));
                out.add(new Result("memcpy" + suffix, t.memcpy, "GB/s"));
                out.add(new Result("memcpy_blocks" + suffix, t.memcpyBlocks, "GB/s"));
                out.add(new Result("inprocess" + suffix, t.inprocess, "GB/s"));
                out.add(new Result("inprocess_runs" + suffix, t.inprocessRuns, "GB/s"));
                out.add(new Result("tcp_raw_socket" + suffix, t.rawSocket, "GB/s"));
                out.add(new Result("tcp" + suffix, t.tcp, "GB/s"));
                out.add(new Result("tcp_runs" + suffix, t.tcpRuns, "GB/s"));
                out.add(new Result("tcp_int8" + suffix, t.tcpInt8, "GB/s"));
                if (s == QWEN_05B && (tokens == 8192 || ratios == null)) {
                    ratios = new double[] {t.inprocess / t.memcpy, t.tcp / t.memcpy, t.inprocess / t.memcpyBlocks, t.tcp / t.rawSocket,
                            t.inprocessRuns / t.memcpy, t.tcpRuns / t.memcpy};
                }
            }
        }
        out.add(new Result("inprocess_vs_memcpy", ratios[0], "ratio"));
        out.add(new Result("tcp_vs_memcpy", ratios[1], "ratio"));
        out.add(new Result("inprocess_vs_memcpy_blocks", ratios[2], "ratio"));
        out.add(new Result("tcp_vs_raw_socket", ratios[3], "ratio"));
        out.add(new Result("inprocess_runs_vs_memcpy", ratios[4], "ratio"));
        out.add(new Result("tcp_runs_vs_memcpy", ratios[5], "ratio"));
        return out;
    }

    /**
     * GB/s (10^9 bytes of the KV's storage type per second) of each way to move one prompt's KV: {@code memcpy} copies
     * each layer's blocks as one run; {@code memcpyBlocks} copies block by block into the transfer's (differently
     * numbered) destination blocks, the granularity of a paged cache; {@code rawSocket} is {@link RawLoopback}. The
     * transfers go into destination block ids in reverse order of the source's (no two consecutive source blocks land in
     * consecutive destination blocks: the worst case for a paged copy, and what a pool gives a request from blocks that
     * one earlier request freed, tail first), except {@code inprocessRuns} and {@code tcpRuns}, whose destination ids
     * are consecutive, as a fresh pool hands them out (each layer moves as long runs).
     */
    public record Throughput(double memcpy, double memcpyBlocks, double inprocess, double inprocessRuns, double rawSocket,
                             double tcp, double tcpRuns, double tcpInt8) { }

    public Throughput throughput(Shape shape, int tokens, boolean withInt8) {
        KvLayout layout = shape.layout(KvType.F32);
        int blocks = layout.blocksForTokens(tokens);
        double bytes = (double) tokens * layout.bytesPerToken();
        long kRow = (long) layout.kRowWidth() * layout.type().bytes, vRow = (long) layout.vRowWidth() * layout.type().bytes;
        try (KvStorage src = KvStorage.allocate(layout, blocks); KvStorage dst = KvStorage.allocate(layout, blocks)) {
            for (int l = 0; l < layout.layers(); l++) src.layerSegment(l).fill((byte) 0x3c); // about 0.0115 as F32
            double memcpy = bytes / best(() -> {
                long t0 = System.nanoTime();
                for (int l = 0; l < layout.layers(); l++) MemorySegment.copy(src.layerSegment(l), 0, dst.layerSegment(l), 0, src.layerSegment(l).byteSize());
                return seconds(t0);
            });
            double memcpyBlocks = bytes / best(() -> {
                long t0 = System.nanoTime();
                for (int l = 0; l < layout.layers(); l++) {
                    for (int b = 0; b < blocks; b++) {
                        int to = blocks - 1 - b, bs = layout.blockSize();
                        MemorySegment.copy(src.kRows(l, b, 0, bs), 0, dst.kRows(l, to, 0, bs), 0, bs * kRow);
                        MemorySegment.copy(src.vRows(l, b, 0, bs), 0, dst.vRows(l, to, 0, bs), 0, bs * vRow);
                    }
                }
                return seconds(t0);
            });
            double raw = bytes / best(() -> RawLoopback.seconds(src, dst));
            double inproc, inprocRuns, tcp, tcpRuns, int8 = Double.NaN;
            try (Rig r = Rig.inProcess(src, dst, null)) {
                inproc = bytes / best(() -> r.transfer(tokens, false));
                inprocRuns = bytes / best(() -> r.transfer(tokens, true));
            }
            try (Rig r = Rig.tcp(src, dst, null)) {
                tcp = bytes / best(() -> r.transfer(tokens, false));
                tcpRuns = bytes / best(() -> r.transfer(tokens, true));
            }
            if (withInt8) {
                try (Rig r = Rig.tcp(src, dst, WireType.INT8)) {
                    int8 = bytes / best(() -> r.transfer(tokens, false));
                }
            }
            return new Throughput(memcpy / 1e9, memcpyBlocks / 1e9, inproc / 1e9, inprocRuns / 1e9, raw / 1e9, tcp / 1e9,
                    tcpRuns / 1e9, int8 / 1e9);
        }
    }

    /** A sender and a receiver over one transport, moving a prompt from {@code src} to {@code dst}. */
    static final class Rig implements AutoCloseable {
        private static final ModelFingerprint MODEL = ModelFingerprint.synthetic("kv-bench");
        final KvStorage src, dst;
        final KvTransport senderTransport, receiverTransport;
        final KvSender sender;
        final KvReceiver receiver;

        private Rig(KvStorage src, KvStorage dst, KvTransport senderTransport, KvTransport receiverTransport, WireType wire) {
            this.src = src;
            this.dst = dst;
            this.senderTransport = senderTransport;
            this.receiverTransport = receiverTransport;
            this.receiver = new KvReceiver(dst, MODEL, receiverTransport);
            this.sender = new KvSender(src, MODEL, senderTransport, wire);
        }

        static Rig inProcess(KvStorage src, KvStorage dst, WireType wire) {
            InProcessKvTransport t = new InProcessKvTransport();
            return new Rig(src, dst, t, t, wire);
        }

        static Rig tcp(KvStorage src, KvStorage dst, WireType wire) {
            return new Rig(src, dst, TcpKvTransport.loopback(), TcpKvTransport.loopback(), wire);
        }

        /**
         * Seconds to move tokens {@code 0 .. tokens-1}, all ready at once: start to acknowledgement. The source's block
         * ids are {@code 0, 1, ...}; the destination's the same ({@code consecutive}) or in reverse order.
         */
        double transfer(int tokens, boolean consecutive) {
            int n = src.layout().blocksForTokens(tokens);
            int[] srcIds = new int[n], dstIds = new int[n];
            for (int i = 0; i < n; i++) {
                srcIds[i] = i;
                dstIds[i] = consecutive ? i : n - 1 - i;
            }
            Outcome done = new Outcome();
            KvGrant g = receiver.grant(new BlockTable(dstIds, dst.layout().blockSize()), tokens, LEASE, done);
            long t0 = System.nanoTime();
            OutgoingTransfer t = sender.start(g, new BlockTable(srcIds, src.layout().blockSize()), done);
            for (int l = 0; l < src.layout().layers(); l++) t.layerReady(l, 0, tokens);
            done.await();
            return seconds(t0);
        }

        @Override
        public void close() {
            sender.close();
            receiver.close();
            senderTransport.close();
            receiverTransport.close();
        }
    }

    /** Waits for both sides' outcomes; throws if either failed. */
    static class Outcome implements TransferListener {
        private final CountDownLatch latch = new CountDownLatch(2);
        private final AtomicReference<TransferFailure> failure = new AtomicReference<>();
        /** {@code System.nanoTime()} when the last outcome arrived. */
        volatile long doneAt;

        @Override
        public void succeeded(long transferId) {
            doneAt = System.nanoTime();
            latch.countDown();
        }

        @Override
        public void failed(long transferId, TransferFailure f) {
            failure.compareAndSet(null, f);
            latch.countDown();
            latch.countDown();
        }

        void await() {
            try {
                if (!latch.await(LEASE.toSeconds() + 10, TimeUnit.SECONDS)) throw new IllegalStateException("KV transfer did not end");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
            if (failure.get() != null) throw new IllegalStateException("KV transfer failed: " + failure.get());
        }
    }

    // ---- TTFT overhead (needs a model) ----

    /**
     * What a transfer adds to a prefill, as fractions of the prefill alone (medians over runs).
     *
     * @param overhead    (prefill with the transfer, until the receiver's acknowledgement − prefill alone) / alone,
     *                    runs alternating so that load on the machine falls on both alike
     * @param exposedTail (acknowledgement − end of the last forward step, or 0 if the acknowledgement came first) /
     *                    alone: the part of the transfer the prefill did not hide, free of the noise of comparing runs
     */
    public record Ttft(double overhead, double exposedTail) { }

    /**
     * What a transfer adds to time-to-first-token: a {@code tokens}-token prompt prefilled in chunks of {@code chunk}
     * tokens alone, against the same prefill whose KV goes to a decode side over loopback TCP, timed until the
     * receiver's acknowledgement. With {@code layerWise} each layer is sent as the engine finishes it; without, the
     * whole KV is sent after the last forward step. One warm-up pair, then {@code repetitions} alternating pairs.
     */
    public Ttft ttftOverhead(Transformer model, int tokens, int chunk, boolean layerWise) {
        KvLayout layout = KvLayout.of(model.config());
        int blocks = layout.blocksForTokens(tokens);
        int[] prompt = new Random(7).ints(tokens, 0, model.config().vocabSize()).toArray();
        int[] ids = new int[blocks];
        for (int i = 0; i < blocks; i++) ids[i] = i;
        BlockTable table = new BlockTable(ids, layout.blockSize());
        try (KvStorage src = KvStorage.allocate(layout, blocks); KvStorage dst = KvStorage.allocate(layout, blocks);
             Rig r = Rig.tcp(src, dst, null)) {
            double[] overhead = new double[repetitions], tail = new double[repetitions];
            for (int i = -1; i < repetitions; i++) {
                // Alternate which of the pair runs first, so that a slow start or a busy moment favours neither.
                double alone = 0;
                if (i % 2 == 0) alone = alone(model, src, table, prompt, chunk);
                Outcome done = new Outcome();
                KvGrant g = r.receiver.grant(table, tokens, LEASE, done);
                long t0 = System.nanoTime();
                OutgoingTransfer t = r.sender.start(g, table, done);
                prefill(model, src, table, prompt, chunk, layerWise ? t : null);
                if (!layerWise) t.allLayersReady(0, tokens);
                long computed = System.nanoTime();
                done.await();
                if (i % 2 != 0) alone = alone(model, src, table, prompt, chunk);
                if (i < 0) continue; // warm-up
                // The first token is out when both the prefill and the transfer are done; with layer-wise streaming the
                // transfer often ends first (the last layer's rows leave before its attention, MLP and output run).
                double with = (Math.max(computed, done.doneAt) - t0) / 1e9;
                overhead[i] = (with - alone) / alone;
                tail[i] = Math.max(0, done.doneAt - computed) / 1e9 / alone;
            }
            return new Ttft(median(overhead), median(tail));
        }
    }

    private static double alone(Transformer model, KvStorage kv, BlockTable table, int[] prompt, int chunk) {
        long t0 = System.nanoTime();
        prefill(model, kv, table, prompt, chunk, null);
        return seconds(t0);
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * {@code ttft_overhead_512}, {@code ttft_overhead_2048} (layer-wise streaming) and {@code ..._whole} (the KV sent
     * after the prefill), and the exposed tails {@code ttft_tail_*}, for a model, prompts in chunks of {@code chunk}
     * tokens: the hook for {@code baton bench kv}.
     */
    public List<Result> ttft(Transformer model, int chunk) {
        List<Result> out = new ArrayList<>();
        for (int tokens : new int[] {512, 2048}) {
            if (tokens > model.config().contextLength()) continue;
            Ttft layerWise = ttftOverhead(model, tokens, chunk, true), whole = ttftOverhead(model, tokens, chunk, false);
            out.add(new Result("ttft_overhead_" + tokens, layerWise.overhead(), "fraction"));
            out.add(new Result("ttft_overhead_" + tokens + "_whole", whole.overhead(), "fraction"));
            out.add(new Result("ttft_tail_" + tokens, layerWise.exposedTail(), "fraction"));
            out.add(new Result("ttft_tail_" + tokens + "_whole", whole.exposedTail(), "fraction"));
        }
        return out;
    }

    private static void prefill(Transformer model, KvStorage kv, BlockTable table, int[] prompt, int chunk, OutgoingTransfer t) {
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            int[] toks = Arrays.copyOfRange(prompt, start, start + n);
            SequenceChunk c = new SequenceChunk(toks, start, table, start + n == prompt.length ? n - 1 : n);
            model.forward(List.of(c), kv, t == null ? Transformer.LayerListener.NONE : LayerStreamer.of(t, start, n));
        }
    }

    // ---- helpers ----

    private interface Timed {
        double seconds();
    }

    /** One warm-up run, then the fastest of {@code repetitions}. */
    private double best(Timed run) {
        run.seconds();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < repetitions; i++) best = Math.min(best, run.seconds());
        return best;
    }

    static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** A JSON array of results, one per line. */
    public static String json(List<Result> results) {
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < results.size(); i++) sb.append("  ").append(results.get(i).json()).append(i + 1 < results.size() ? ",\n" : "\n");
        return sb.append("]").toString();
    }

    /** A table for people. */
    public static String table(List<Result> results) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-36s %12s  %s%n", "test", "value", "unit"));
        for (Result r : results) sb.append(String.format(Locale.ROOT, "%-36s %12.4g  %s%n", r.test(), r.value(), r.unit()));
        return sb.toString();
    }

    /**
     * {@code KvBench [--json] [--tokens 1024,8192,32768] [--repetitions N] [--model FILE]}: the standard set, and with a
     * model the TTFT overheads ({@link #ttft}).
     * {@code KvBench receive|send ...}: the two halves of the slow-link experiment ({@link SlowLink}).
     */
    public static void main(String[] args) {
        if (args.length > 0 && (args[0].equals("receive") || args[0].equals("send"))) {
            SlowLink.main(args);
            return;
        }
        boolean json = false;
        String model = null;
        int reps = 3;
        int[] tokens = {1024, 8192, 32768};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = true;
                case "--repetitions" -> reps = Integer.parseInt(args[++i]);
                case "--tokens" -> tokens = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--model" -> model = args[++i];
                default -> {
                    System.err.println("kv bench: unknown argument " + args[i] + " (expected --json, --tokens LIST, --repetitions N, or receive|send ...)");
                    System.exit(2);
                }
            }
        }
        KvBench bench = new KvBench(reps);
        List<Result> r = new ArrayList<>(bench.standard(tokens));
        if (model != null) {
            try (Model m = Model.load(Path.of(model), Math.max(1, Runtime.getRuntime().availableProcessors()))) {
                r.addAll(bench.ttft(m.transformer(), 512));
            }
        }
        System.out.println(json ? json(r) : table(r));
    }
}
