package io.baton.rpc;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.kv.KvEvent;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.kvtransfer.transport.TcpKvTransport;
import io.baton.router.DisaggregatedFlow;
import io.baton.router.RoutingDecision;
import io.baton.router.WorkerClient;
import io.baton.router.WorkerInfo;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The control plane in one JVM but over real sockets: a prefill and a decode worker behind {@link GrpcWorkerServer}s,
 * the KV over loopback TCP, and the router side's {@link GrpcWorkerClient}s driven by the router's own
 * {@link DisaggregatedFlow}. Greedy output equals a colocated engine loop; a cancelled stream aborts the request on the
 * worker within a second and frees its blocks; KV events arrive; a worker that goes away is declared dead.
 */
@Timeout(120)
class GrpcWorkerTest {
    static final String MODEL = "stories260K.gguf";
    static Model colocatedModel, prefillModel, decodeModel;
    static KvLayout layout;
    static byte[] fingerprint;
    static ScheduledExecutorService timer;

    @BeforeAll
    static void load() {
        colocatedModel = Model.load(Fixtures.model(MODEL), 1);
        prefillModel = Model.load(Fixtures.model(MODEL), 1);
        decodeModel = Model.load(Fixtures.model(MODEL), 1);
        layout = KvLayout.of(colocatedModel.config());
        fingerprint = ModelFingerprint.of(colocatedModel.config(), colocatedModel.gguf()).toBytes();
        timer = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    static void close() {
        timer.shutdownNow();
        colocatedModel.close();
        prefillModel.close();
        decodeModel.close();
    }

    record Output(List<Integer> tokens, String text, FinishReason reason, int completionTokens) {}

    /** Collects one request's output. */
    static final class Collector implements OutputListener {
        final List<Integer> tokens = new CopyOnWriteArrayList<>();
        final List<TokenLogprobs> logprobs = new CopyOnWriteArrayList<>();
        final StringBuffer text = new StringBuffer();
        final CompletableFuture<Output> done = new CompletableFuture<>();
        final CountDownLatch firstTokens;

        Collector(int waitFor) {
            firstTokens = new CountDownLatch(waitFor);
        }

        Collector() {
            this(1);
        }

        @Override
        public void onToken(int token, String piece, TokenLogprobs lp) {
            if (lp != null) logprobs.add(lp);
            onToken(token, piece);
        }

        @Override
        public void onToken(int token, String piece) {
            tokens.add(token);
            text.append(piece);
            firstTokens.countDown();
        }

        @Override
        public void onFinish(FinishReason reason, String rest, int promptTokens, int completionTokens) {
            text.append(rest);
            done.complete(new Output(List.copyOf(tokens), text.toString(), reason, completionTokens));
        }

        @Override
        public void onError(String message) {
            done.completeExceptionally(new AssertionError(message));
        }
    }

    static GrpcWorkerServer serve(EngineLoop loop, Model m) {
        return GrpcWorkerServer.start(loop, new GrpcWorkerServer.Identity(Fixtures.model(MODEL).toString(), fingerprint, m.config().contextLength()),
                "127.0.0.1", 0);
    }

    static GrpcWorkerClient connect(GrpcWorkerServer s, java.util.function.Consumer<GrpcWorkerClient> onDead) throws Exception {
        return GrpcWorkerClient.connect(new WorkerEndpoint("127.0.0.1", s.port()), GrpcWorkerClient.Options.withTimeout(Duration.ofSeconds(1)),
                timer, onDead).get(10, TimeUnit.SECONDS);
    }

    static Output colocated(GenerationRequest r) throws Exception {
        return colocatedCollector(r).done.get();
    }

    static Collector colocatedCollector(GenerationRequest r) throws Exception {
        try (EngineLoop loop = new EngineLoop(colocatedModel, colocatedModel.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64)) {
            Collector c = new Collector();
            loop.submit(r, c);
            c.done.get(60, TimeUnit.SECONDS);
            return c;
        }
    }

    /**
     * How close two runs' log-probabilities must be: 1e-5 relative (the engine's bound for batching independence), at
     * least 1e-5. Not bit-equal, nor 1e-5 absolute: the matrix tiles' {@code reduceLanes} sums lanes in another order
     * when interpreted than when compiled (a probe of {@code Gemm.tile4x3}: 0.6694517 against 0.6694522), so the
     * colocated reference, run first on a cold JIT, and the PD run can differ by a few float ulps; a random-weight
     * model's logprobs near -12 then differed by 1.1-1.2e-5 in about one run in six of this class.
     */
    private static float close(float expected) {
        return 1e-5f * Math.max(1f, Math.abs(expected));
    }

    @Test
    void logprobsCrossTheControlPlaneFromThePrefillAndTheDecodeWorker() throws Exception {
        int[] prompt = colocatedModel.tokenizer().encode("Once upon a time, there was a little girl named Lily", true, false);
        GenerationRequest r = new GenerationRequest("lp", prompt, SamplingParams.greedy().toBuilder().maxTokens(12).logprobs(true).topLogprobs(4).build());
        Collector expected = colocatedCollector(r);
        assertThat(expected.logprobs).hasSameSizeAs(expected.tokens).isNotEmpty();
        try (TcpKvTransport pt = TcpKvTransport.loopback(); TcpKvTransport dt = TcpKvTransport.loopback();
             EngineLoop prefill = new EngineLoop(prefillModel, prefillModel.tokenizer(), SchedulerConfig.defaults(Role.PREFILL), layout, 64, pt);
             EngineLoop decode = new EngineLoop(decodeModel, decodeModel.tokenizer(), SchedulerConfig.defaults(Role.DECODE), layout, 64, dt);
             GrpcWorkerServer ps = serve(prefill, prefillModel); GrpcWorkerServer ds = serve(decode, decodeModel);
             GrpcWorkerClient pc = connect(ps, c -> { }); GrpcWorkerClient dc = connect(ds, c -> { })) {
            Map<String, WorkerClient> clients = Map.of(pc.info().id(), pc, dc.info().id(), dc);
            Collector got = new Collector();
            // Threshold 1: the prompt goes through the prefill worker, whose stream carries the first token's logprobs.
            new DisaggregatedFlow(1).start(r, new RoutingDecision(pc.info(), dc.info(), "test", 0), clients::get, got);
            got.done.get(60, TimeUnit.SECONDS);
            assertThat(got.tokens).isEqualTo(expected.tokens);
            assertThat(got.logprobs).hasSameSizeAs(expected.logprobs);
            for (int i = 0; i < got.logprobs.size(); i++) {
                TokenLogprobs g = got.logprobs.get(i), e = expected.logprobs.get(i);
                assertThat(g.token()).isEqualTo(e.token());
                assertThat(g.logprob()).as("token %d", i).isCloseTo(e.logprob(), within(close(e.logprob())));
                assertThat(g.top()).hasSize(4);
                for (int k = 0; k < 4; k++) {
                    assertThat(g.top().get(k).token()).isEqualTo(e.top().get(k).token());
                    assertThat(g.top().get(k).logprob()).isCloseTo(e.top().get(k).logprob(), within(close(e.top().get(k).logprob())));
                }
            }
            awaitNoBlocksUsed(pc);
            awaitNoBlocksUsed(dc);
        }
    }

    @Test
    void disaggregatedOverGrpcEqualsColocatedAndFreesEveryBlock() throws Exception {
        Random rnd = new Random(7);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] prompt = i < 2 ? colocatedModel.tokenizer().encode("Once upon a time, there was a little girl named Lily " + i, true, false)
                    : rnd.ints(20 + rnd.nextInt(60), 3, 512).toArray();
            requests.add(new GenerationRequest("r" + i, prompt, SamplingParams.greedy().toBuilder().maxTokens(24).build()));
        }
        List<Output> expected = new ArrayList<>();
        for (GenerationRequest r : requests) expected.add(colocated(r));

        try (TcpKvTransport pt = TcpKvTransport.loopback(); TcpKvTransport dt = TcpKvTransport.loopback();
             EngineLoop prefill = new EngineLoop(prefillModel, prefillModel.tokenizer(), SchedulerConfig.defaults(Role.PREFILL), layout, 64, pt);
             EngineLoop decode = new EngineLoop(decodeModel, decodeModel.tokenizer(), SchedulerConfig.defaults(Role.DECODE), layout, 64, dt);
             GrpcWorkerServer ps = serve(prefill, prefillModel); GrpcWorkerServer ds = serve(decode, decodeModel);
             GrpcWorkerClient pc = connect(ps, c -> { }); GrpcWorkerClient dc = connect(ds, c -> { })) {
            assertThat(pc.info().role()).isEqualTo(Role.PREFILL);
            assertThat(dc.info().role()).isEqualTo(Role.DECODE);
            assertThat(dc.info().id()).isEqualTo("127.0.0.1:" + ds.port());
            Map<String, WorkerClient> clients = Map.of(pc.info().id(), pc, dc.info().id(), dc);
            // Threshold 8: the short prompts below it go to the decode worker alone, the others through prefill.
            DisaggregatedFlow flow = new DisaggregatedFlow(8);
            List<Collector> outs = new ArrayList<>();
            for (GenerationRequest r : requests) {
                Collector c = new Collector();
                flow.start(r, new RoutingDecision(pc.info(), dc.info(), "test", 0), clients::get, c);
                outs.add(c);
            }
            for (int i = 0; i < requests.size(); i++) {
                Output got = outs.get(i).done.get(60, TimeUnit.SECONDS);
                assertThat(got.tokens()).as("request %d", i).isEqualTo(expected.get(i).tokens());
                assertThat(got.text()).as("request %d", i).isEqualTo(expected.get(i).text());
                assertThat(got.reason()).isEqualTo(expected.get(i).reason());
            }
            awaitNoBlocksUsed(pc);
            awaitNoBlocksUsed(dc);
        }
    }

    @Test
    void cancellingTheStreamAbortsOnTheWorkerWithinOneSecond() throws Exception {
        try (EngineLoop loop = new EngineLoop(colocatedModel, colocatedModel.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64);
             GrpcWorkerServer s = serve(loop, colocatedModel); GrpcWorkerClient c = connect(s, x -> { })) {
            int[] prompt = colocatedModel.tokenizer().encode("Once upon a time", true, false);
            // Long enough to still run when aborted: the whole context, EOS ignored.
            SamplingParams p = SamplingParams.greedy().toBuilder().maxTokens(colocatedModel.config().contextLength() - prompt.length).ignoreEos(true).build();
            Collector out = new Collector(3);
            c.submit(new GenerationRequest("long", prompt, p), out);
            assertThat(out.firstTokens.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(c.refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS).kvBlocksUsed()).isPositive();
            long t0 = System.nanoTime();
            c.abort("long");
            Output o = out.done.get(5, TimeUnit.SECONDS);
            assertThat(o.reason()).isEqualTo(FinishReason.ABORT);
            awaitNoBlocksUsed(c);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("stream cancelled: blocks free on the worker after %.1f ms%n", seconds * 1e3);
            assertThat(seconds).as("abort to free blocks").isLessThan(1.0);
            assertThat(loop.steps()).isLessThan(p.maxTokens()); // it did stop
        }
    }

    @Test
    void cancellingAReservedDecodeStreamFreesItsBlocks() throws Exception {
        try (TcpKvTransport dt = TcpKvTransport.loopback();
             EngineLoop decode = new EngineLoop(decodeModel, decodeModel.tokenizer(), SchedulerConfig.defaults(Role.DECODE), layout, 64, dt);
             GrpcWorkerServer s = serve(decode, decodeModel); GrpcWorkerClient c = connect(s, x -> { })) {
            int[] prompt = new Random(3).ints(50, 3, 512).toArray();
            Collector out = new Collector();
            byte[] grant = c.reserve(new GenerationRequest("held", prompt, SamplingParams.greedy()), out).toCompletableFuture()
                    .get(10, TimeUnit.SECONDS).orElseThrow();
            assertThat(grant).isNotEmpty();
            assertThat(c.refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS).kvBlocksUsed()).isEqualTo(layout.blocksForTokens(50));
            c.abort("held");
            assertThat(out.done.get(5, TimeUnit.SECONDS).reason()).isEqualTo(FinishReason.ABORT);
            awaitNoBlocksUsed(c);
            // A prompt longer than the context is refused before it leaves the router.
            assertThatThrownBy(() -> c.reserve(new GenerationRequest("huge", new int[decodeModel.config().contextLength()], SamplingParams.greedy()), out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context length");
        }
    }

    @Test
    void kvEventsReachTheSubscriber() throws Exception {
        try (EngineLoop loop = new EngineLoop(colocatedModel, colocatedModel.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64);
             GrpcWorkerServer s = serve(loop, colocatedModel); GrpcWorkerClient c = connect(s, x -> { })) {
            List<KvEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCloseable sub = c.subscribeKvEvents(events::add)) {
                // A prompt that fills two blocks.
                int[] prompt = new Random(9).ints(40, 3, 512).toArray();
                Collector out = new Collector();
                awaitSubscribed(loop, c, events, prompt, out);
                out.done.get(30, TimeUnit.SECONDS);
            }
            assertThat(events).anySatisfy(e -> assertThat(e).isInstanceOf(KvEvent.BlockStored.class));
            KvEvent.BlockStored first = (KvEvent.BlockStored) events.stream().filter(e -> e instanceof KvEvent.BlockStored).findFirst().orElseThrow();
            assertThat(first.blockSize()).isEqualTo(layout.blockSize());
            assertThat(first.hashes()).isNotEmpty();
            for (int i = 1; i < events.size(); i++) assertThat(events.get(i).seq()).isEqualTo(events.get(i - 1).seq() + 1);
        }
    }

    /** Runs the request once the worker's pool has the subscriber (subscribing is asynchronous over the network). */
    private static void awaitSubscribed(EngineLoop loop, GrpcWorkerClient c, List<KvEvent> events, int[] prompt, Collector out) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int attempt = 0;
        while (events.isEmpty() && System.nanoTime() < deadline) {
            // Each attempt stores new blocks (a fresh prompt), so an attempt made before the subscription took effect
            // is followed by one made after.
            int[] p = prompt.clone();
            p[0] = 3 + attempt++;
            Collector o = attempt == 1 ? out : new Collector();
            c.submit(new GenerationRequest("kv" + attempt, p, SamplingParams.greedy().toBuilder().maxTokens(2).build()), o);
            o.done.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWorkerThatGoesAwayIsDeclaredDeadAndItsRequestsFail() throws Exception {
        EngineLoop loop = new EngineLoop(colocatedModel, colocatedModel.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64);
        GrpcWorkerServer s = serve(loop, colocatedModel);
        CompletableFuture<GrpcWorkerClient> dead = new CompletableFuture<>();
        try (GrpcWorkerClient c = connect(s, dead::complete)) {
            assertThat(c.info().up()).isTrue();
            int[] prompt = colocatedModel.tokenizer().encode("Once upon a time", true, false);
            Collector out = new Collector();
            c.submit(new GenerationRequest("orphan", prompt, SamplingParams.greedy().toBuilder()
                    .maxTokens(colocatedModel.config().contextLength() - prompt.length).ignoreEos(true).build()), out);
            assertThat(out.firstTokens.await(30, TimeUnit.SECONDS)).isTrue();
            s.close();
            loop.close();
            assertThatThrownBy(() -> out.done.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(AssertionError.class);
            assertThat(dead.get(10, TimeUnit.SECONDS)).isSameAs(c);
            WorkerInfo i = c.info();
            assertThat(i.up()).isFalse();
        }
    }

    static void awaitNoBlocksUsed(GrpcWorkerClient c) throws Exception {
        // The prefill side frees its blocks when the decode side acknowledges the KV, a moment after the output.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        WorkerInfo i;
        do {
            i = c.refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS);
            if (i.kvBlocksUsed() == 0 && i.running() == 0 && i.waiting() == 0) return;
            Thread.sleep(5);
        } while (System.nanoTime() < deadline);
        assertThat(i.kvBlocksUsed()).as(i.id() + " blocks used").isZero();
    }
}
