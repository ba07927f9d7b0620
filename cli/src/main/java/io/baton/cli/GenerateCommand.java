package io.baton.cli;

import io.baton.engine.Model;
import io.baton.engine.chat.ChatMessage;
import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvType;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;

/**
 * {@code baton generate}: one prompt through the batched engine (a colocated worker's loop with one request), the
 * completion streamed to stdout as it is generated.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate a completion for one prompt and print it to stdout.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Option(names = "--chat", description = "Wrap the prompt as one user message with the model's chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the prompt.")
    String system;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "128", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8", description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Nucleus sampling (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Keep the K most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Drop tokens below P × the top probability (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "R", defaultValue = "1.0", description = "Repetition penalty, 1 is off (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--frequency-penalty", paramLabel = "F", defaultValue = "0", description = "OpenAI frequency penalty (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--presence-penalty", paramLabel = "F", defaultValue = "0", description = "OpenAI presence penalty (default: ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "-1", description = "Random seed; the same seed gives the same output; -1 picks one (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "A stop string (repeatable).")
    List<String> stop = List.of();

    @Option(names = "--ignore-eos", description = "Keep generating after the end-of-generation token.")
    boolean ignoreEos;

    @Option(names = "--threads", paramLabel = "N", description = "Engine threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        SamplingParams params = SamplingParams.builder().temperature(temperature).topP(topP).topK(topK).minP(minP)
                .repetitionPenalty(repeatPenalty).frequencyPenalty(frequencyPenalty).presencePenalty(presencePenalty)
                .seed(seed).maxTokens(maxTokens).stop(stop).stopTokenIds(Set.of()).ignoreEos(ignoreEos).build();
        try (Model m = Model.load(model, threads)) {
            String text = prompt;
            if (chat) {
                ChatTemplate template = m.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                        "model " + model + " has no chat template (tokenizer.chat_template); run without --chat"));
                List<ChatMessage> messages = system == null ? List.of(ChatMessage.user(prompt))
                        : List.of(ChatMessage.system(system), ChatMessage.user(prompt));
                text = template.render(messages, true);
            }
            // A rendered chat template already holds BOS where the model wants it (as vLLM: add_special_tokens=False).
            int[] tokens = m.tokenizer().encode(text, !chat, chat);
            int ctx = m.config().contextLength();
            if (tokens.length >= ctx) {
                throw new IllegalArgumentException("prompt of " + tokens.length + " tokens is longer than the context length of " + ctx + " tokens");
            }
            int total = Math.min(ctx, tokens.length + maxTokens);
            KvLayout layout = KvLayout.of(m.config(), KvType.F32, KvLayout.DEFAULT_BLOCK_SIZE);
            PrintWriter out = spec.commandLine().getOut();
            CompletableFuture<String> done = new CompletableFuture<>();
            try (EngineLoop loop = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, layout.blocksForTokens(total))) {
                loop.submit(new GenerationRequest("generate", tokens, params), new OutputListener() {
                    @Override
                    public void onToken(int token, String piece) {
                        out.print(piece);
                        out.flush();
                    }

                    @Override
                    public void onFinish(FinishReason reason, String rest, int promptTokens, int completionTokens) {
                        out.print(rest);
                        out.println();
                        out.flush();
                        done.complete(reason.wireName());
                    }

                    @Override
                    public void onError(String message) {
                        done.completeExceptionally(new IllegalStateException(message));
                    }
                });
                try {
                    done.join();
                } catch (java.util.concurrent.CompletionException e) {
                    throw (Exception) e.getCause();
                }
            }
        }
        return 0;
    }
}
