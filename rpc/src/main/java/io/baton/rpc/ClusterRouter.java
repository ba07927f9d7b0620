package io.baton.rpc;

import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.gguf.GgufFile;
import io.baton.engine.model.ModelConfig;
import io.baton.engine.tokenizer.Tokenizer;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.router.ApiServer;
import io.baton.router.DisaggregatedFlow;
import io.baton.router.Router;
import io.baton.router.RouterConfig;
import io.baton.router.ServedModel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * {@code baton router}: the OpenAI-compatible API in front of workers in other processes. The router reads the same
 * GGUF file as its workers, but only its tokenizer, chat template and context length (the weights stay unread), so
 * that it templates and tokenizes each request once; it refuses workers whose model fingerprint differs. Workers come
 * from a static list, from announcements on the registration port, or both ({@link Discovery}); requests go through
 * {@link DisaggregatedFlow} (prefill worker → KV over TCP → decode worker, short prompts straight to decode, colocated
 * workers end to end).
 */
public final class ClusterRouter implements AutoCloseable {

    /**
     * @param servedName      the API's model id; null for the file name without {@code .gguf}
     * @param chatTemplate    a Jinja chat template replacing the model's own; null for the model's
     * @param minPromptTokens prompts shorter than this skip the prefill worker
     * @param workers         the static worker list (may be empty)
     * @param registryPort    port of the registration service for announcing workers; -1 for none, 0 for any free port
     * @param workerTimeout   a worker silent this long is dropped
     */
    public record Options(Path model, String servedName, String chatTemplate, RouterConfig router, int minPromptTokens,
                          List<WorkerEndpoint> workers, int registryPort, Duration workerTimeout) {
        public Options {
            workers = List.copyOf(workers);
            if (registryPort < -1 || registryPort > 65535) throw new IllegalArgumentException("registration port must be in [0, 65535], got " + registryPort);
            if (workers.isEmpty() && registryPort < 0) {
                throw new IllegalArgumentException("no workers: give a static list (--workers HOST:PORT,...) or a registration port (--grpc-port) for workers to announce themselves");
            }
            if (minPromptTokens < 0 && minPromptTokens != DisaggregatedFlow.AUTO) {
                throw new IllegalArgumentException("disaggregation threshold must be >= 0 (or auto), got " + minPromptTokens);
            }
        }
    }

    private final GgufFile gguf;
    private final Router router;
    private final ApiServer api;
    private final AnnouncedDiscovery announced;
    private final List<Discovery> discoveries;
    private final WorkerMembership membership;
    private final ScheduledExecutorService timer;

    private ClusterRouter(GgufFile gguf, Router router, ApiServer api, AnnouncedDiscovery announced, List<Discovery> discoveries,
                          WorkerMembership membership, ScheduledExecutorService timer) {
        this.gguf = gguf;
        this.router = router;
        this.api = api;
        this.announced = announced;
        this.discoveries = discoveries;
        this.membership = membership;
        this.timer = timer;
    }

    /** Starts the API, the registration service and the discovery of workers; returns once the ports are bound. */
    public static ClusterRouter start(Options o) {
        GgufFile g = GgufFile.open(o.model());
        Router router = null;
        ApiServer api = null;
        List<Discovery> discoveries = new ArrayList<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "baton-membership");
            t.setDaemon(true);
            return t;
        });
        try {
            ModelConfig config = ModelConfig.fromGguf(g);
            Tokenizer tokenizer = Tokenizer.fromGguf(g);
            byte[] fingerprint = ModelFingerprint.of(config, g).toBytes();
            Optional<ChatTemplate> template = o.chatTemplate() != null
                    ? Optional.of(new ChatTemplate(o.chatTemplate(), tokenText(tokenizer, tokenizer.bos()), tokenText(tokenizer, tokenizer.eos())))
                    : ChatTemplate.fromGguf(g);
            String name = o.servedName() != null ? o.servedName() : nameOf(o.model());
            router = new Router(name, o.router(), List.of(), new DisaggregatedFlow(o.minPromptTokens()));
            api = ApiServer.start(router, new ServedModel(name, tokenizer, template, config.contextLength(), System.currentTimeMillis() / 1000), o.router());
            AnnouncedDiscovery announced = null;
            if (!o.workers().isEmpty()) discoveries.add(new StaticDiscovery(o.workers()));
            if (o.registryPort() >= 0) {
                announced = AnnouncedDiscovery.start(o.router().host(), o.registryPort(), o.workerTimeout());
                discoveries.add(announced);
            }
            WorkerMembership membership = new WorkerMembership(router, fingerprint, GrpcWorkerClient.Options.withTimeout(o.workerTimeout()),
                    timer, discoveries);
            return new ClusterRouter(g, router, api, announced, discoveries, membership, timer);
        } catch (RuntimeException e) {
            for (Discovery d : discoveries) d.close();
            if (api != null) api.close();
            if (router != null) router.close();
            timer.shutdownNow();
            g.close();
            throw e;
        }
    }

    private static String tokenText(Tokenizer t, int id) {
        return id < 0 ? "" : new String(t.tokenBytes(id), StandardCharsets.UTF_8);
    }

    static String nameOf(Path file) {
        String n = file.getFileName().toString();
        return n.endsWith(".gguf") ? n.substring(0, n.length() - ".gguf".length()) : n;
    }

    /** The API's base URL, {@code http://HOST:PORT}. */
    public String url() {
        return api.url();
    }

    /** The registration port workers announce themselves to, or -1 when there is none. */
    public int registryPort() {
        return announced == null ? -1 : announced.port();
    }

    public Router router() {
        return router;
    }

    @Override
    public void close() {
        api.close();
        for (Discovery d : discoveries) d.close();
        membership.close();
        router.close();
        timer.shutdownNow();
        gguf.close();
    }
}
