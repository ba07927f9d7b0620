package io.baton.router;

import io.baton.engine.Model;
import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.kv.KvLayout;
import io.baton.worker.EngineLoop;
import io.baton.worker.PrefillProbe;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;

import io.baton.kvtransfer.transport.InProcessKvTransport;
import io.baton.kvtransfer.transport.KvTransport;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code baton serve}: the router and its workers in one JVM. By default a prefill worker and a decode worker, each an
 * engine instance with its own thread pool, the KV handed over through the in-process transport of the KV-transfer
 * code ({@link DisaggregatedFlow}); or one colocated worker (prefill and decode in one continuous batch), the baseline.
 */
public final class EmbeddedServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EmbeddedServer.class.getName());
    private final Model model;
    private final boolean ownsModel;
    /** Models loaded for the extra workers of the disaggregated mode (each worker its own engine and pool). */
    private final List<Model> extraModels;
    private final List<InProcessWorkerClient> workers;
    private final KvTransport transport;
    private final Router router;
    private final ApiServer api;
    private final RequestFlow flow;

    /**
     * What to serve and how.
     *
     * @param servedName     the model id of the API; null for the file name without {@code .gguf}
     * @param chatTemplate   a Jinja chat template replacing the model's own; null to use the model's
     * @param kvMemoryBytes  KV cache memory; 0 for {@link #defaultKvMemory}
     */
    public record Options(String servedName, String chatTemplate, long kvMemoryBytes, RouterConfig router, Mode mode,
                          int decodeThreads, int minPromptTokens) {
        public Options {
            if (kvMemoryBytes < 0) throw new IllegalArgumentException("KV memory must be >= 0 bytes (0 = default), got " + kvMemoryBytes);
            if (decodeThreads < 0) throw new IllegalArgumentException("decode threads must be >= 1 (0 = same as prefill), got " + decodeThreads);
            if (minPromptTokens < 0 && minPromptTokens != DisaggregatedFlow.AUTO) {
                throw new IllegalArgumentException("disaggregation threshold must be >= 0 (or auto), got " + minPromptTokens);
            }
        }

        /** The colocated mode (one worker), as before the disaggregated default existed. */
        public Options(String servedName, String chatTemplate, long kvMemoryBytes, RouterConfig router) {
            this(servedName, chatTemplate, kvMemoryBytes, router, Mode.COLOCATED, 0, 0);
        }

        public static Options defaults() {
            return new Options(null, null, 0, RouterConfig.defaults(), Mode.DISAGGREGATED, 0, DisaggregatedFlow.AUTO);
        }
    }

    /** How the embedded server runs requests. */
    public enum Mode {
        /** A prefill worker and a decode worker, KV handed over in-process (the default). */
        DISAGGREGATED,
        /** One worker for prefill and decode (the baseline). */
        COLOCATED
    }

    private EmbeddedServer(Model model, boolean ownsModel, List<Model> extraModels, List<InProcessWorkerClient> workers,
                           KvTransport transport, Router router, ApiServer api, RequestFlow flow) {
        this.flow = flow;
        this.model = model;
        this.ownsModel = ownsModel;
        this.extraModels = extraModels;
        this.workers = workers;
        this.transport = transport;
        this.router = router;
        this.api = api;
    }

    /**
     * Loads {@code file} and serves it; the server owns (and closes) the model(s). In the disaggregated mode the prefill
     * worker gets {@code threads} engine threads and the decode worker {@link Options#decodeThreads()} (default: the
     * same), each in its own engine instance over the same memory-mapped file.
     */
    public static EmbeddedServer start(Path file, int threads, Options options) {
        Model m = Model.load(file, threads);
        Model decodeModel = null;
        try {
            if (options.mode() == Mode.DISAGGREGATED) {
                decodeModel = Model.load(file, options.decodeThreads() == 0 ? threads : options.decodeThreads());
            }
            return start(m, decodeModel, true, nameOf(file), options);
        } catch (RuntimeException e) {
            if (decodeModel != null) decodeModel.close();
            m.close();
            throw e;
        }
    }

    /**
     * Serves an already loaded model with one colocated worker; the model stays open after {@link #close()} (for tests
     * sharing one model).
     */
    public static EmbeddedServer start(Model model, String defaultName, Options options) {
        if (options.mode() != Mode.COLOCATED) throw new IllegalArgumentException("a shared model serves only the colocated mode");
        return start(model, null, false, defaultName, options);
    }

    private static EmbeddedServer start(Model m, Model decodeModel, boolean ownsModel, String defaultName, Options options) {
        String name = options.servedName() != null ? options.servedName() : defaultName;
        Optional<ChatTemplate> template = options.chatTemplate() != null
                ? Optional.of(new ChatTemplate(options.chatTemplate(), tokenText(m, m.tokenizer().bos()), tokenText(m, m.tokenizer().eos())))
                : m.chatTemplate();
        KvLayout layout = KvLayout.of(m.config());
        int blocks = io.baton.worker.KvBudget.blocks(layout, m.config().contextLength(), options.kvMemoryBytes());
        List<InProcessWorkerClient> workers = new ArrayList<>();
        KvTransport transport = null;
        RequestFlow flow;
        Router router = null;
        try {
            if (decodeModel == null) {
                EngineLoop loop = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, blocks);
                workers.add(new InProcessWorkerClient("colocated-0", loop, true));
                flow = new ColocatedFlow();
            } else {
                transport = new InProcessKvTransport();
                // The KV budget is split: the prefill worker holds prompts only until their KV has left.
                int prefillBlocks = Math.max(layout.blocksForTokens(m.config().contextLength()), blocks / 4);
                EngineLoop prefill = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.PREFILL), layout, prefillBlocks, transport);
                workers.add(new InProcessWorkerClient("prefill-0", prefill, true));
                EngineLoop decode = new EngineLoop(decodeModel, decodeModel.tokenizer(), SchedulerConfig.defaults(Role.DECODE), layout, blocks, transport);
                // The decode worker's prefill speed, measured before its loop runs anything, sets the threshold.
                double speed = PrefillProbe.tokensPerSecond(decodeModel);
                workers.add(new InProcessWorkerClient("decode-0", decode, true, speed));
                DisaggregatedFlow pd = new DisaggregatedFlow(options.minPromptTokens());
                int threshold = pd.thresholdFor(workers.get(1).info());
                LOG.log(System.Logger.Level.INFO, () -> String.format(java.util.Locale.ROOT, "conditional disaggregation: prompts under %d"
                        + " tokens are prefilled by the decode worker (it prefills %.0f tokens/s; TPOT objective %.3f s)", threshold, speed,
                        DisaggregatedFlow.DEFAULT_TPOT_SLO_SECONDS));
                flow = pd;
            }
            router = new Router(name, options.router(), List.copyOf(workers), flow);
            ServedModel served = new ServedModel(name, m.tokenizer(), template, m.config().contextLength(), System.currentTimeMillis() / 1000);
            ApiServer api = ApiServer.start(router, served, options.router());
            return new EmbeddedServer(m, ownsModel, decodeModel == null ? List.of() : List.of(decodeModel), List.copyOf(workers), transport, router, api, flow);
        } catch (RuntimeException e) {
            if (router != null) router.close();
            for (InProcessWorkerClient w : workers) w.close();
            if (transport != null) transport.close();
            throw e;
        }
    }


    /**
     * Prompts shorter than this are prefilled by the decode worker (conditional disaggregation); -1 in the colocated
     * mode, where there is no prefill worker.
     */
    public int disaggregationThreshold() {
        return flow instanceof DisaggregatedFlow d ? d.thresholdFor(workers.get(workers.size() - 1).info()) : -1;
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

    /** The first worker (the colocated one, or the prefill worker). */
    public InProcessWorkerClient worker() {
        return workers.getFirst();
    }

    public List<InProcessWorkerClient> workers() {
        return workers;
    }

    public Model model() {
        return model;
    }

    @Override
    public void close() {
        api.close();
        router.close();
        for (InProcessWorkerClient w : workers) w.close();
        if (transport != null) transport.close();
        if (ownsModel) {
            model.close();
            for (Model x : extraModels) x.close();
        }
    }
}
