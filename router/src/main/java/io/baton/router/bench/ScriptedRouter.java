package io.baton.router.bench;

import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.model.ModelConfig;
import io.baton.engine.tokenizer.Tokenizer;
import io.baton.router.ApiServer;
import io.baton.router.ColocatedFlow;
import io.baton.router.Router;
import io.baton.router.RouterConfig;
import io.baton.router.ServedModel;
import io.baton.router.WorkerClient;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The router under test of {@code baton bench router}: the real HTTP front ({@link ApiServer}) and {@link Router}, the
 * code {@code baton serve} runs, in front of {@link ScriptedWorkerClient}s instead of engines. A GGUF file provides what
 * the router itself needs (tokenizer, chat template, context length; the weights are never read), so requests are
 * templated and tokenized as in production.
 */
public final class ScriptedRouter implements AutoCloseable {
    /** The model id the API serves (what the benchmark client sends). */
    public static final String MODEL_NAME = "scripted";

    /**
     * @param model      GGUF file whose tokenizer, chat template and context length the router uses
     * @param workers    scripted workers (each one timer thread); the routing policy spreads requests over them
     * @param ttftMillis delay from a request reaching its worker to its first token
     * @param itlMillis  interval between the following tokens
     * @param batched    workers hand tokens over in decode steps, one burst per step, instead of each stream on its
     *                   own phase ({@link ScriptedWorkerClient}); the workers' steps are spread evenly over one interval
     * @param router     the router's configuration (event loops, prepare threads, limits, port)
     */
    public record Options(Path model, int workers, double ttftMillis, double itlMillis, boolean batched, RouterConfig router) {
        public Options {
            if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
            if (!(ttftMillis >= 0)) throw new IllegalArgumentException("--ttft-ms must be >= 0, got " + ttftMillis);
            if (!(itlMillis > 0)) throw new IllegalArgumentException("--itl-ms must be > 0, got " + itlMillis);
        }
    }

    private final List<ScriptedWorkerClient> workers;
    private final Router router;
    private final ApiServer api;

    private ScriptedRouter(List<ScriptedWorkerClient> workers, Router router, ApiServer api) {
        this.workers = workers;
        this.router = router;
        this.api = api;
    }

    /** Starts the workers and the router; returns once the port is bound. */
    public static ScriptedRouter start(Options o) {
        Tokenizer tokenizer;
        Optional<ChatTemplate> template;
        int context;
        try (GgufFile g = GgufFile.open(o.model())) {
            tokenizer = Tokenizer.fromGguf(g);
            template = ChatTemplate.fromGguf(g);
            context = ModelConfig.fromGguf(g).contextLength();
        }
        if (template.isEmpty()) {
            throw new IllegalArgumentException(o.model() + " has no chat template; the benchmark streams chat completions (use a model with one)");
        }
        AtomicLong sequence = new AtomicLong();
        List<ScriptedWorkerClient> workers = new ArrayList<>();
        Router router = null;
        try {
            for (int i = 0; i < o.workers(); i++) {
                workers.add(new ScriptedWorkerClient("scripted-" + i, o.ttftMillis(), o.itlMillis(), o.batched(),
                        o.itlMillis() * i / o.workers(), sequence));
            }
            router = new Router(MODEL_NAME, o.router(), List.<WorkerClient>copyOf(workers), new ColocatedFlow());
            ServedModel served = new ServedModel(MODEL_NAME, tokenizer, template, context, System.currentTimeMillis() / 1000);
            ApiServer api = ApiServer.start(router, served, o.router());
            return new ScriptedRouter(List.copyOf(workers), router, api);
        } catch (RuntimeException e) {
            if (router != null) router.close();
            for (ScriptedWorkerClient w : workers) w.close();
            throw e;
        }
    }

    public String url() {
        return api.url();
    }

    public int port() {
        return api.port();
    }

    /** Tokens all workers have handed to the router so far. */
    public long tokensEmitted() {
        return workers.stream().mapToLong(ScriptedWorkerClient::tokensEmitted).sum();
    }

    /** Requests that reached a worker so far. */
    public long requestsSubmitted() {
        return workers.stream().mapToLong(ScriptedWorkerClient::requestsSubmitted).sum();
    }

    @Override
    public void close() {
        api.close();
        router.close();
        for (ScriptedWorkerClient w : workers) w.close();
    }
}
