package io.baton.worker;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.Sequence;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Continuous batching under pressure (paged-KV issue, "property tests"): random arrivals, prompt lengths, output
 * lengths and aborts, in a KV pool small enough to force preemption. At the end every block is free, and every request
 * that was not aborted produced exactly the tokens it produces when run alone (greedy).
 */
class EngineLoopPropertyTest {
    static final int REQUESTS = 40;

    record Spec(int[] prompt, int maxTokens, int abortAfter, int spawnAfter) {}

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void randomWorkloadMatchesRunsAlone() throws Exception {
        Random rnd = new Random(20261122);
        try (Model m = Model.load(Fixtures.model("stories260K.gguf"), 2)) {
            List<Spec> specs = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                int[] prompt = rnd.ints(1 + rnd.nextInt(60), 3, m.config().vocabSize()).toArray();
                specs.add(new Spec(prompt, 1 + rnd.nextInt(30), rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(5) : -1, rnd.nextInt(8)));
            }
            // 12 blocks of 16 tokens: at most ~2-4 requests fit at once, so the scheduler must preempt and recompute.
            KvLayout layout = KvLayout.of(m.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            SchedulerConfig config = new SchedulerConfig(Role.COLOCATED, 48, 8);
            Map<Integer, List<Integer>> got = new ConcurrentHashMap<>();
            Map<Integer, FinishReason> reasons = new ConcurrentHashMap<>();
            CountDownLatch done = new CountDownLatch(REQUESTS);
            try (EngineLoop loop = new EngineLoop(m, m.tokenizer(), config, layout, 12)) {
                int[] next = {0};
                // The first few arrive at once; each later one arrives when an earlier request has produced a few tokens.
                class Listener implements OutputListener {
                    final int id;
                    int tokens;

                    Listener(int id) {
                        this.id = id;
                    }

                    @Override
                    public void onToken(int token, String text) {
                        got.computeIfAbsent(id, k -> new ArrayList<>()).add(token);
                        tokens++;
                        if (tokens == specs.get(id).spawnAfter() + 1) spawn(loop, specs, next, this::make);
                        if (tokens == specs.get(id).abortAfter()) loop.abort("r" + id);
                    }

                    Listener make(int i) {
                        return new Listener(i);
                    }

                    @Override
                    public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                        reasons.put(id, reason);
                        done.countDown();
                    }

                    @Override
                    public void onError(String message) {
                        reasons.put(id, FinishReason.ABORT);
                        done.countDown();
                        throw new AssertionError("request r" + id + " failed: " + message);
                    }
                }
                for (int i = 0; i < 4; i++) spawn(loop, specs, next, Listener::new);
                // Requests whose spawner finished early are submitted here, so every request arrives eventually.
                while (!done.await(50, TimeUnit.MILLISECONDS)) {
                    CompletableFuture<Boolean> idle = new CompletableFuture<>();
                    loop.command(() -> idle.complete(!loop.scheduler().hasWork()));
                    if (idle.get(10, TimeUnit.SECONDS) && next[0] < REQUESTS) spawn(loop, specs, next, Listener::new);
                }
                CompletableFuture<int[]> blocks = new CompletableFuture<>();
                loop.command(() -> blocks.complete(new int[] {loop.scheduler().kv().usedBlocks(), loop.scheduler().numActive(),
                        (int) Math.min(1, loop.scheduler().preemptions())}));
                assertThat(blocks.get(10, TimeUnit.SECONDS)).as("used blocks, active requests, preempted at least once").containsExactly(0, 0, 1);
                assertThat(loop.failure()).isNull();
            }
            int compared = 0;
            for (int i = 0; i < REQUESTS; i++) {
                assertThat(reasons).containsKey(i);
                if (reasons.get(i) == FinishReason.ABORT) continue;
                assertThat(got.get(i)).as("request r%d", i).containsExactlyElementsOf(alone(m, specs.get(i)));
                compared++;
            }
            assertThat(compared).isGreaterThan(REQUESTS / 2);
        }
    }

    private static synchronized void spawn(EngineLoop loop, List<Spec> specs, int[] next, java.util.function.IntFunction<OutputListener> listener) {
        if (next[0] >= specs.size()) return;
        int i = next[0]++;
        Spec s = specs.get(i);
        SamplingParams p = SamplingParams.greedy().toBuilder().maxTokens(s.maxTokens()).stopTokenIds(Set.of()).build();
        loop.submit(new GenerationRequest("r" + i, s.prompt(), p), listener.apply(i));
    }

    /** Greedy decoding of one request on its own sequence: argmax, ties to the lowest id, stop after EOG. */
    private static List<Integer> alone(Model m, Spec s) {
        List<Integer> out = new ArrayList<>();
        try (Sequence seq = m.newSequence(s.prompt().length + s.maxTokens())) {
            float[] logits = seq.forward(s.prompt(), false);
            for (int k = 0; k < s.maxTokens(); k++) {
                int best = 0;
                for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
                out.add(best);
                if (m.tokenizer().isEndOfGeneration(best)) break;
                if (k + 1 < s.maxTokens()) logits = seq.forward(new int[] {best}, false);
            }
        }
        return out;
    }
}
