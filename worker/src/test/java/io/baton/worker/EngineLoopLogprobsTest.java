package io.baton.worker;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.Sequence;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.Logprobs;
import io.baton.engine.sampling.SamplingParams;
import io.baton.engine.sampling.TokenLogprob;
import io.baton.engine.sampling.TokenLogprobs;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Log-probabilities through the engine loop on stories260K (a trained model): every generated token comes with the
 * log-probability that the model's raw distribution gives it, equal to a plain one-sequence forward pass over the same
 * tokens, whatever penalties and temperature the sampler applies; nothing comes when nothing was asked.
 */
@Timeout(120)
class EngineLoopLogprobsTest {
    static final double TOLERANCE = 1e-4;
    static Model model;
    static int vocab;

    @BeforeAll
    static void load() {
        model = Model.load(Fixtures.model("stories260K.gguf"), 1);
        vocab = model.config().vocabSize();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Output(List<Integer> tokens, List<TokenLogprobs> logprobs, FinishReason reason) {}

    static Output run(GenerationRequest r) throws Exception {
        KvLayout layout = KvLayout.of(model.config());
        List<Integer> tokens = new CopyOnWriteArrayList<>();
        List<TokenLogprobs> logprobs = new CopyOnWriteArrayList<>();
        List<Boolean> missing = new CopyOnWriteArrayList<>();
        CompletableFuture<Output> done = new CompletableFuture<>();
        try (EngineLoop loop = new EngineLoop(model, model.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 64)) {
            loop.submit(r, new OutputListener() {
                @Override
                public void onToken(int token, String text) {
                    throw new AssertionError("the engine calls the form with log-probabilities");
                }

                @Override
                public void onToken(int token, String text, TokenLogprobs lp) {
                    tokens.add(token);
                    if (lp == null) missing.add(true);
                    else logprobs.add(lp);
                }

                @Override
                public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    assertThat(completionTokens).isEqualTo(tokens.size());
                    done.complete(new Output(List.copyOf(tokens), List.copyOf(logprobs), reason));
                }

                @Override
                public void onError(String message) {
                    done.completeExceptionally(new AssertionError(message));
                }
            });
            Output o = done.get(60, TimeUnit.SECONDS);
            assertThat(o.logprobs().isEmpty() || missing.isEmpty()).as("all tokens or none have log-probabilities").isTrue();
            return o;
        }
    }

    /** log_softmax of the logits that predict each generated token: the prompt's last position, then one token at a time. */
    static List<float[]> direct(int[] prompt, List<Integer> generated) {
        List<float[]> rows = new ArrayList<>();
        try (Sequence s = model.newSequence(prompt.length + generated.size())) {
            rows.add(Logprobs.logSoftmax(s.forward(prompt, false), vocab));
            for (int i = 0; i < generated.size() - 1; i++) rows.add(Logprobs.logSoftmax(s.forward(new int[]{generated.get(i)}, false), vocab));
        }
        return rows;
    }

    static int best(float[] logprobs) {
        return Logprobs.top(logprobs, vocab, 1).getFirst().token();
    }

    static int[] prompt(String text) {
        return model.tokenizer().encode(text, true, false);
    }

    @Test
    void greedyTokensComeWithTheirLogprobAndTheTopN() throws Exception {
        int[] prompt = prompt("Once upon a time");
        Output o = run(new GenerationRequest("g", prompt, SamplingParams.greedy().toBuilder().maxTokens(12).logprobs(true).topLogprobs(5).build()));
        assertThat(o.tokens()).isNotEmpty();
        assertThat(o.logprobs()).hasSameSizeAs(o.tokens());
        List<float[]> expected = direct(prompt, o.tokens());
        for (int i = 0; i < o.tokens().size(); i++) {
            TokenLogprobs lp = o.logprobs().get(i);
            int token = o.tokens().get(i);
            assertThat(lp.token()).isEqualTo(token);
            assertThat(lp.logprob()).isLessThanOrEqualTo(0f);
            assertThat((double) lp.logprob()).as("token %d", i).isCloseTo(expected.get(i)[token], within(TOLERANCE));
            // Greedy: the chosen token is the most likely one.
            assertThat(token).isEqualTo(best(expected.get(i)));
            assertThat(lp.top()).hasSize(5);
            assertThat(lp.top().getFirst()).isEqualTo(new TokenLogprob(token, lp.logprob()));
            List<TokenLogprob> direct = Logprobs.top(expected.get(i), vocab, 5);
            for (int k = 0; k < 5; k++) {
                assertThat(lp.top().get(k).token()).isEqualTo(direct.get(k).token());
                assertThat((double) lp.top().get(k).logprob()).isCloseTo(direct.get(k).logprob(), within(TOLERANCE));
                if (k > 0) assertThat(lp.top().get(k).logprob()).isLessThanOrEqualTo(lp.top().get(k - 1).logprob());
            }
        }
    }

    @Test
    void logprobsAreOfTheRawDistributionWhateverTheSamplerDoes() throws Exception {
        int[] prompt = prompt("The little dog");
        // Penalties and temperature change which token is drawn, not the log-probabilities reported (vLLM's default).
        SamplingParams p = SamplingParams.builder().temperature(1.3f).seed(42).repetitionPenalty(1.8f).presencePenalty(1.5f)
                .maxTokens(16).logprobs(true).topLogprobs(3).build();
        Output o = run(new GenerationRequest("s", prompt, p));
        List<float[]> expected = direct(prompt, o.tokens());
        boolean someNotTheMostLikely = false;
        for (int i = 0; i < o.tokens().size(); i++) {
            int token = o.tokens().get(i);
            TokenLogprobs lp = o.logprobs().get(i);
            assertThat((double) lp.logprob()).as("token %d", i).isCloseTo(expected.get(i)[token], within(TOLERANCE));
            assertThat(lp.top().getFirst().token()).isEqualTo(best(expected.get(i)));
            someNotTheMostLikely |= lp.top().getFirst().token() != token;
        }
        assertThat(someNotTheMostLikely).as("the sampler drew a token other than the most likely one at least once").isTrue();
    }

    @Test
    void withoutLogprobsNoneComeAndTheTokensAreTheSame() throws Exception {
        int[] prompt = prompt("Once upon a time");
        SamplingParams greedy = SamplingParams.greedy().toBuilder().maxTokens(12).build();
        Output plain = run(new GenerationRequest("p", prompt, greedy));
        assertThat(plain.logprobs()).isEmpty();
        Output asked = run(new GenerationRequest("a", prompt, greedy.toBuilder().logprobs(true).build()));
        assertThat(asked.tokens()).isEqualTo(plain.tokens());
        assertThat(asked.logprobs()).hasSameSizeAs(asked.tokens()).allSatisfy(lp -> assertThat(lp.top()).isEmpty());
    }
}
