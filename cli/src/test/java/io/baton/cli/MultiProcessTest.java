package io.baton.cli;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.chat.ChatMessage;
import io.baton.engine.chat.ChatTemplate;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.sampling.FinishReason;
import io.baton.engine.sampling.SamplingParams;
import io.baton.worker.EngineLoop;
import io.baton.worker.GenerationRequest;
import io.baton.worker.OutputListener;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The multi-process mode as a user runs it: {@code baton router}, a prefill {@code baton worker} and a decode
 * {@code baton worker}, three JVMs started by this test on loopback, the control plane over gRPC and the KV over TCP.
 * The official OpenAI Java client streams through it; the greedy text through the prefill → decode path equals
 * {@code baton generate} and a colocated engine loop; 64 concurrent streams all get their text; every KV block is free
 * afterwards (read from the router's {@code /metrics}); a client that disconnects frees its blocks; a killed worker is
 * dropped after the heartbeat timeout and {@code /health} turns 503, and a worker that announces itself is taken in.
 */
@Timeout(180)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiProcessTest {
    static final String MODEL = "stories260K";
    /** A chat template for a model without one: BOS, then the messages' contents. */
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
    /** Prompts of fewer tokens are prefilled by the decode worker alone. */
    static final int THRESHOLD = 8;

    static Path dir;
    static Path model;
    static final List<Process> processes = new ArrayList<>();
    static Process prefill, decode;
    static String prefillId, decodeId, url, registry;
    static Model reference;
    static OpenAIClient client;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("baton-multiprocess");
        model = Fixtures.model(MODEL + ".gguf");
        Path template = Files.writeString(dir.resolve("template.jinja"), TEMPLATE);
        // The workers start in parallel; the router is told where they listen.
        prefill = baton("prefill", "worker", "--role", "prefill", "--model", model.toString(), "--port", "0", "--threads", "1", "--kv-memory", "8M");
        decode = baton("decode", "worker", "--role", "decode", "--model", model.toString(), "--port", "0", "--threads", "1", "--kv-memory", "8M");
        prefillId = readyLine(prefill, "Baton worker \\(prefill\\) listening on 127\\.0\\.0\\.1:\\d+").substring("Baton worker (prefill) listening on ".length());
        decodeId = readyLine(decode, "Baton worker \\(decode\\) listening on 127\\.0\\.0\\.1:\\d+").substring("Baton worker (decode) listening on ".length());
        Process router = baton("router", "router", "--model", model.toString(), "--port", "0", "--workers", prefillId + "," + decodeId,
                "--grpc-port", "0", "--worker-timeout", "1s", "--chat-template", template.toString(),
                "--disaggregation-threshold", "" + THRESHOLD,
                "--admission-factor", "1000"); // a loaded CI machine must not turn this test into one of admission control
        url = readyLine(router, "Baton router listening on http://127\\.0\\.0\\.1:\\d+").substring("Baton router listening on ".length());
        registry = readyLine(router, "Workers announce to 127\\.0\\.0\\.1:\\d+").substring("Workers announce to ".length());
        // The router dials its workers in the background: ready once both have joined.
        awaitTrue(() -> status("/health") == 200, Duration.ofSeconds(30), "router healthy");
        reference = Model.load(model, 1);
        client = OpenAIOkHttpClient.builder().baseUrl(url + "/v1").apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (client != null) client.close();
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) p.waitFor(10, TimeUnit.SECONDS);
        if (reference != null) reference.close();
    }

    /** Starts {@code baton ARGS...} in a new JVM with this test's class path; stderr goes to a log file. */
    static Process baton(String name, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m", "-Xss4m", "-cp", cp, "io.baton.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(dir.resolve(name + ".log").toFile()).start();
        processes.add(p);
        return p;
    }

    /** The process's next stdout line, which must match {@code regex} (60 s at most). */
    static String readyLine(Process p, String regex) throws Exception {
        BufferedReader out = readers.computeIfAbsent(p, q -> new BufferedReader(new InputStreamReader(q.getInputStream(), StandardCharsets.UTF_8)));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(line).as("ready line (logs in %s)", dir).isNotNull().matches(regex);
        return line;
    }

    static final java.util.Map<Process, BufferedReader> readers = new java.util.concurrent.ConcurrentHashMap<>();

    static int status(String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static String metrics() throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** A sample of the scrape, NaN when absent. */
    static double sample(String scrape, String nameAndLabels) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(nameAndLabels + " ")) return Double.parseDouble(line.substring(nameAndLabels.length() + 1).split(" ")[0]);
        }
        return Double.NaN;
    }

    /** Polls {@code condition} every 20 ms until it holds; fails after {@code limit}. */
    static void awaitTrue(BooleanSupplier condition, Duration limit, String what) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for " + what + " (logs in " + dir + ")").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** Greedy text of one request alone through a colocated engine loop in this JVM. */
    static String greedy(int[] prompt, int maxTokens) throws Exception {
        KvLayout layout = KvLayout.of(reference.config());
        CompletableFuture<String> done = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        try (EngineLoop loop = new EngineLoop(reference, reference.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout,
                layout.blocksForTokens(reference.config().contextLength()))) {
            loop.submit(new GenerationRequest("ref", prompt, SamplingParams.greedy().toBuilder().maxTokens(maxTokens).build()), new OutputListener() {
                @Override
                public void onToken(int token, String text) {
                    sb.append(text);
                }

                @Override
                public void onFinish(FinishReason reason, String text, int promptTokens, int completionTokens) {
                    done.complete(sb.append(text).toString());
                }

                @Override
                public void onError(String message) {
                    done.completeExceptionally(new AssertionError(message));
                }
            });
            return done.get(60, TimeUnit.SECONDS);
        }
    }

    static int[] chatTokens(String content) {
        ChatTemplate t = new ChatTemplate(TEMPLATE, new String(reference.tokenizer().tokenBytes(reference.tokenizer().bos()), StandardCharsets.UTF_8),
                new String(reference.tokenizer().tokenBytes(reference.tokenizer().eos()), StandardCharsets.UTF_8));
        return reference.tokenizer().encode(t.render(List.of(ChatMessage.user(content)), true), false, true);
    }

    /** Streams one chat completion with the OpenAI client and returns its text. */
    static String streamChat(String content, int maxTokens) {
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model(MODEL).addUserMessage(content).temperature(0.0)
                .maxCompletionTokens(maxTokens).build();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
        }
        return text.toString();
    }

    @Test
    @Order(1)
    void greedyThroughPrefillAndDecodeEqualsGenerate() throws Exception {
        String prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside";
        assertThat(reference.tokenizer().encode(prompt, true, false).length).isGreaterThanOrEqualTo(THRESHOLD);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(CompletionCreateParams.builder().model(MODEL)
                .prompt(prompt).maxTokens(40).temperature(0.0).build())) {
            s.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        CliRunner.Result gen = CliRunner.run("generate", "--model", model.toString(), "--prompt", prompt, "--max-tokens", "40",
                "--temperature", "0", "--threads", "1");
        assertThat(gen.exit()).as(gen.err()).isZero();
        assertThat(streamed + "\n").isEqualTo(gen.out());

        String content = "The sun was shining and the birds were singing. Tom and his dog went to the river";
        assertThat(streamChat(content, 48)).isEqualTo(greedy(chatTokens(content), 48));

        // Both workers took part: the prefill worker computed prompts, the decode worker streamed the rest.
        String m = metrics();
        assertThat(sample(m, "baton_time_to_first_token_seconds_count{model=\"" + MODEL + "\",role=\"prefill\"}")).isGreaterThanOrEqualTo(2);
        assertThat(sample(m, "baton_inter_token_latency_seconds_count{model=\"" + MODEL + "\",role=\"decode\"}")).isGreaterThan(40);
        // The decode worker measured its prefill speed at startup and reports it (the base of --disaggregation-threshold auto).
        assertThat(sample(m, "baton_worker_startup_prefill_tokens_per_second{role=\"decode\",worker=\"" + decodeId + "\"}")).isPositive();
        assertThat(sample(m, "baton_worker_startup_prefill_tokens_per_second{role=\"prefill\",worker=\"" + prefillId + "\"}")).isZero();
    }

    @Test
    @Order(2)
    void sixtyFourConcurrentStreamsGetTheirTextAndFreeEveryBlock() throws Exception {
        List<String> contents = new ArrayList<>();
        String[] starts = {"Once upon a time", "The little girl", "Tom and his dog", "One day, a bird", "The sun was", "Lily wanted to",
                "In the park", "A big red ball"};
        for (String s : starts) {
            contents.add(s); // short: the decode worker prefills it
            contents.add(s + " went to the market with her mother to buy some apples and"); // long: through the prefill worker
        }
        List<String> expected = new ArrayList<>();
        for (String c : contents) expected.add(greedy(chatTokens(c), 32));
        assertThat(contents).anySatisfy(c -> assertThat(chatTokens(c).length).isLessThan(THRESHOLD))
                .anySatisfy(c -> assertThat(chatTokens(c).length).isGreaterThanOrEqualTo(THRESHOLD));

        ExecutorService pool = Executors.newFixedThreadPool(64);
        try {
            List<Future<String>> streams = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String c = contents.get(i % contents.size());
                streams.add(pool.submit(() -> streamChat(c, 32)));
            }
            for (int i = 0; i < 64; i++) {
                assertThat(streams.get(i).get(120, TimeUnit.SECONDS)).as("stream %d", i).isEqualTo(expected.get(i % contents.size()));
            }
        } finally {
            pool.shutdownNow();
        }
        assertAllBlocksFree();
    }

    static void assertAllBlocksFree() throws Exception {
        // The prefill worker frees a prompt's blocks when the decode worker acknowledges its KV, a moment after the output.
        String[] last = new String[1];
        awaitTrue(() -> {
            try {
                last[0] = metrics();
            } catch (Exception e) {
                return false;
            }
            return sample(last[0], "baton_kv_blocks_used{role=\"prefill\",worker=\"" + prefillId + "\"}") == 0
                    && sample(last[0], "baton_kv_blocks_used{role=\"decode\",worker=\"" + decodeId + "\"}") == 0
                    && sample(last[0], "baton_running_requests{role=\"decode\",worker=\"" + decodeId + "\"}") == 0
                    && sample(last[0], "baton_router_requests_in_flight") == 0;
        }, Duration.ofSeconds(10), "every KV block free");
        assertThat(sample(last[0], "baton_kv_blocks_free{role=\"decode\",worker=\"" + decodeId + "\"}")).isPositive();
    }

    @Test
    @Order(3)
    void aClientThatDisconnectsFreesItsBlocksOnBothWorkers() throws Exception {
        int ctx = reference.config().contextLength();
        String prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside";
        int promptTokens = reference.tokenizer().encode(prompt, true, false).length;
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + (ctx - promptTokens)
                + ",\"ignore_eos\":true,\"temperature\":0,\"stream\":true}";
        double abortsBefore = sample(metrics(), "baton_requests_total{model=\"" + MODEL + "\",outcome=\"abort\"}");
        URI u = URI.create(url);
        long closed;
        try (Socket s = new Socket(u.getHost(), u.getPort())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: " + u.getHost() + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            // Read until two tokens have streamed: the request is on the decode worker now.
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            int events = 0;
            while (events < 3) {
                int b = in.read();
                assertThat(b).as("stream ended early: %s", seen).isNotNegative();
                seen.append((char) b);
                if (seen.toString().endsWith("\n\n")) events++;
            }
            closed = System.nanoTime();
        }
        awaitTrue(() -> {
            try {
                return sample(metrics(), "baton_requests_total{model=\"" + MODEL + "\",outcome=\"abort\"}") == abortsBefore + 1;
            } catch (Exception e) {
                return false;
            }
        }, Duration.ofSeconds(5), "the request aborted");
        assertAllBlocksFree();
        System.out.printf("client disconnected: every block free (seen through /metrics) after %.0f ms%n", (System.nanoTime() - closed) / 1e6);
    }

    @Test
    @Order(4)
    void aKilledWorkerIsDroppedAndAnAnnouncedOneTakenIn() throws Exception {
        decode.destroyForcibly();
        long t0 = System.nanoTime();
        awaitTrue(() -> status("/health") == 503, Duration.ofSeconds(10), "/health 503 after the decode worker died");
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("decode worker killed: /health 503 after %.2f s (timeout 1 s)%n", seconds);
        assertThat(metrics()).doesNotContain(decodeId).contains(prefillId);

        // A decode worker that announces itself to the registration port joins, and the PD path works through it.
        Process announced = baton("announced", "worker", "--role", "decode", "--model", model.toString(), "--port", "0", "--threads", "1",
                "--kv-memory", "8M", "--router", registry);
        String id = readyLine(announced, "Baton worker \\(decode\\) listening on 127\\.0\\.0\\.1:\\d+").substring("Baton worker (decode) listening on ".length());
        awaitTrue(() -> status("/health") == 200, Duration.ofSeconds(20), "/health 200 with the announced decode worker");
        String content = "The sun was shining and the birds were singing. Tom and his dog went to the river";
        assertThat(streamChat(content, 24)).isEqualTo(greedy(chatTokens(content), 24));
        assertThat(metrics()).contains("worker=\"" + id + "\"");

        announced.destroyForcibly();
        awaitTrue(() -> status("/health") == 503, Duration.ofSeconds(10), "/health 503 after the announced worker died");
    }
}
