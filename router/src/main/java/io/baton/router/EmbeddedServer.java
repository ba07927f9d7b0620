package io.baton.router;

import io.baton.engine.Model;
import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.kv.KvLayout;
import io.baton.worker.EngineLoop;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code baton serve}: the router and its worker(s) in one JVM. For now one colocated worker (prefill and decode in
 * one continuous batch); the prefill/decode pair with the in-process KV transfer plugs in through {@link RequestFlow}.
 */
public final class EmbeddedServer implements AutoCloseable {
    /** KV memory when none is given: 1 GiB, or less when the model's running batch cannot use that much. */
    public static final long DEFAULT_KV_MEMORY_BYTES = 1L << 30;

    private final Model model;
    private final boolean ownsModel;
    private final InProcessWorkerClient worker;
    private final Router router;
    private final ApiServer api;

    /**
     * What to serve and how.
     *
     * @param servedName     the model id of the API; null for the file name without {@code .gguf}
     * @param chatTemplate   a Jinja chat template replacing the model's own; null to use the model's
     * @param kvMemoryBytes  KV cache memory; 0 for {@link #defaultKvMemory}
     */
    public record Options(String servedName, String chatTemplate, long kvMemoryBytes, RouterConfig router) {
        public Options {
            if (kvMemoryBytes < 0) throw new IllegalArgumentException("KV memory must be >= 0 bytes (0 = default), got " + kvMemoryBytes);
        }

        public static Options defaults() {
            return new Options(null, null, 0, RouterConfig.defaults());
        }
    }

    private EmbeddedServer(Model model, boolean ownsModel, InProcessWorkerClient worker, Router router, ApiServer api) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.worker = worker;
        this.router = router;
        this.api = api;
    }

    /** Loads {@code file} with {@code threads} engine threads and serves it; the server owns (and closes) the model. */
    public static EmbeddedServer start(Path file, int threads, Options options) {
        Model m = Model.load(file, threads);
        try {
            return start(m, true, nameOf(file), options);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Serves an already loaded model, which stays open after {@link #close()} (for tests sharing one model). */
    public static EmbeddedServer start(Model model, String defaultName, Options options) {
        return start(model, false, defaultName, options);
    }

    private static EmbeddedServer start(Model m, boolean ownsModel, String defaultName, Options options) {
        String name = options.servedName() != null ? options.servedName() : defaultName;
        Optional<ChatTemplate> template = options.chatTemplate() != null
                ? Optional.of(new ChatTemplate(options.chatTemplate(), tokenText(m, m.tokenizer().bos()), tokenText(m, m.tokenizer().eos())))
                : m.chatTemplate();
        KvLayout layout = KvLayout.of(m.config());
        int blocks = kvBlocks(layout, m.config().contextLength(), options.kvMemoryBytes());
        EngineLoop loop = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, blocks);
        InProcessWorkerClient worker = new InProcessWorkerClient("colocated-0", loop, true);
        Router router = null;
        try {
            router = new Router(name, options.router(), List.of(worker), new ColocatedFlow());
            ServedModel served = new ServedModel(name, m.tokenizer(), template, m.config().contextLength(), System.currentTimeMillis() / 1000);
            ApiServer api = ApiServer.start(router, served, options.router());
            return new EmbeddedServer(m, ownsModel, worker, router, api);
        } catch (RuntimeException e) {
            if (router != null) router.close();
            worker.close();
            throw e;
        }
    }

    /**
     * KV blocks for a memory budget; with no budget, {@link #DEFAULT_KV_MEMORY_BYTES} capped at what a full running
     * batch of full contexts needs. Always at least one full context.
     */
    static int kvBlocks(KvLayout layout, int contextLength, long bytes) {
        int oneContext = layout.blocksForTokens(contextLength);
        if (bytes == 0) {
            long full = (long) SchedulerConfig.DEFAULT_MAX_RUNNING * oneContext;
            return (int) Math.max(oneContext, Math.min(full, layout.blocksForBudget(DEFAULT_KV_MEMORY_BYTES)));
        }
        int blocks = layout.blocksForBudget(bytes);
        if (blocks < 1) {
            throw new IllegalArgumentException("KV memory of " + bytes + " bytes holds no block (one block is " + layout.bytesPerBlock() + " bytes)");
        }
        return blocks;
    }

    private static String tokenText(Model m, int id) {
        return id < 0 ? "" : new String(m.tokenizer().tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8);
    }

    static String nameOf(Path file) {
        String n = file.getFileName().toString();
        return n.endsWith(".gguf") ? n.substring(0, n.length() - ".gguf".length()) : n;
    }

    public String url() {
        return api.url();
    }

    public int port() {
        return api.port();
    }

    public Router router() {
        return router;
    }

    public InProcessWorkerClient worker() {
        return worker;
    }

    public Model model() {
        return model;
    }

    @Override
    public void close() {
        api.close();
        router.close();
        worker.close();
        if (ownsModel) model.close();
    }
}
