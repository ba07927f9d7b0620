package io.baton.worker;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.kvtransfer.KvGrant;
import io.baton.kvtransfer.transport.InProcessKvTransport;
import io.baton.kvtransfer.transport.KvTransport;
import io.baton.kvtransfer.transport.TcpKvTransport;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prefill/decode disaggregation through two engine loops: decode grants, prefill pushes layer by layer, prefill's first
 * token and decode's following tokens are exactly what a colocated loop produces (greedy), and every block on both
 * sides is free afterwards. Over the in-process transport and over loopback TCP.
 */
class PdEngineLoopTest {

    /** What one request produced: tokens in order, text, finish reason. */
    record Output(List<Integer> tokens, String text, FinishReason reason) {}

    @ParameterizedTest
    @ValueSource(strings = {"inproc", "tcp"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void pdEqualsColocated(String kind) throws Exception {
        Random rnd = new Random(5);
        try (Model colocatedModel = Model.load(Fixtures.model("stories260K.gguf"), 1);
             Model prefillModel = Model.load(Fixtures.model("stories260K.gguf"), 1);
             Model decodeModel = Model.load(Fixtures.model("stories260K.gguf"), 1);
             KvTransport transport = kind.equals("tcp") ? TcpKvTransport.loopback() : new InProcessKvTransport()) {
            KvLayout layout = KvLayout.of(colocatedModel.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int[] prompt = colocatedModel.tokenizer().encode(i % 2 == 0 ? "Once upon a time, there was a little" : "The cat sat on the mat and " + i, true, false);
                if (i >= 6) prompt = rnd.ints(40 + rnd.nextInt(40), 3, 512).toArray(); // longer than a block or two
                requests.add(new GenerationRequest("r" + i, prompt, SamplingParams.greedy().toBuilder().maxTokens(20).build()));
            }
            List<Output> expected = new ArrayList<>();
            try (EngineLoop colocated = new EngineLoop(colocatedModel, colocatedModel.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64)) {
                for (GenerationRequest r : requests) expected.add(run(colocated, r));
            }
            try (EngineLoop prefill = new EngineLoop(prefillModel, prefillModel.tokenizer(), new SchedulerConfig(Role.PREFILL, 64, 8), layout, 64, transport);
                 EngineLoop decode = new EngineLoop(decodeModel, decodeModel.tokenizer(), SchedulerConfig.defaults(Role.DECODE), layout, 64, transport)) {
                List<CompletableFuture<Output>> outs = new ArrayList<>();
                for (GenerationRequest r : requests) outs.add(disaggregated(prefill, decode, r));
                for (int i = 0; i < requests.size(); i++) {
                    Output got = outs.get(i).get(60, TimeUnit.SECONDS);
                    assertThat(got.tokens()).as("request %d tokens", i).isEqualTo(expected.get(i).tokens());
                    assertThat(got.text()).as("request %d text", i).isEqualTo(expected.get(i).text());
                    assertThat(got.reason()).isEqualTo(expected.get(i).reason());
                }
                assertThat(blocksInUse(prefill)).isZero();
                assertThat(blocksInUse(decode)).isZero();
            }
        }
    }

    /** Decode reserves and grants, prefill computes and pushes; the first token goes from prefill to decode. */
    static CompletableFuture<Output> disaggregated(EngineLoop prefill, EngineLoop decode, GenerationRequest r) throws Exception {
        CompletableFuture<Output> done = new CompletableFuture<>();
        List<Integer> tokens = new CopyOnWriteArrayList<>();
        StringBuffer text = new StringBuffer();
        KvGrant grant = decode.reserve(r, new Collector(tokens, text, done), Duration.ofSeconds(30)).get(10, TimeUnit.SECONDS).orElseThrow();
        prefill.submitPrefill(r, grant, new OutputListener() {
            @Override
            public void onToken(int token, String piece) {
                tokens.add(token);
                text.append(piece);
                decode.firstToken(r.id(), token);
            }

            @Override
            public void onFinish(FinishReason reason, String rest, int promptTokens, int completionTokens) {
                text.append(rest);
                decode.abort(r.id()); // the output ended at its first token: decode has nothing to do
                done.complete(new Output(tokens, text.toString(), reason));
            }

            @Override
            public void onError(String message) {
                done.completeExceptionally(new AssertionError(message));
            }
        });
        return done;
    }

    private static Output run(EngineLoop loop, GenerationRequest r) throws Exception {
        CompletableFuture<Output> done = new CompletableFuture<>();
        List<Integer> tokens = new CopyOnWriteArrayList<>();
        StringBuffer text = new StringBuffer();
        loop.submit(r, new Collector(tokens, text, done));
        return done.get(60, TimeUnit.SECONDS);
    }

    record Collector(List<Integer> tokens, StringBuffer text, CompletableFuture<Output> done) implements OutputListener {
        @Override
        public void onToken(int token, String piece) {
            tokens.add(token);
            text.append(piece);
        }

        @Override
        public void onFinish(FinishReason reason, String rest, int promptTokens, int completionTokens) {
            text.append(rest);
            if (reason != FinishReason.ABORT) done.complete(new Output(tokens, text.toString(), reason));
        }

        @Override
        public void onError(String message) {
            done.completeExceptionally(new AssertionError(message));
        }
    }

    static int blocksInUse(EngineLoop loop) throws Exception {
        // The prefill side frees its blocks when the decode side's acknowledgement arrives, a moment after the output.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            CompletableFuture<Integer> used = new CompletableFuture<>();
            loop.command(() -> used.complete(loop.scheduler().kv().usedBlocks() + loop.scheduler().numActive()));
            int n = used.get(10, TimeUnit.SECONDS);
            if (n == 0 || System.nanoTime() > deadline) return n;
            Thread.onSpinWait();
        }
    }
}
