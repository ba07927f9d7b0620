package io.baton.router;

import io.baton.engine.Model;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The reference the served text must equal: one request alone through the engine, greedy. */
final class Greedy {
    private Greedy() {}

    record Result(String text, String finishReason, int completionTokens) {}

    static Result run(Model m, int[] promptTokens, int maxTokens) {
        KvLayout layout = KvLayout.of(m.config());
        CompletableFuture<Result> done = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        try (EngineLoop loop = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout,
                layout.blocksForTokens(m.config().contextLength()))) {
            loop.submit(new GenerationRequest("ref", promptTokens, SamplingParams.builder().temperature(0).maxTokens(maxTokens).build()),
                    new OutputListener() {
                        @Override
                        public void onToken(int token, String text) {
                            sb.append(text);
                        }

                        @Override
                        public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                            sb.append(text);
                            done.complete(new Result(sb.toString(), reason.wireName(), completionTokens));
                        }

                        @Override
                        public void onError(String message) {
                            done.completeExceptionally(new AssertionError(message));
                        }
                    });
            return done.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
