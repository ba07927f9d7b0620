package io.baton.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.kv.KvLayout;
import io.baton.worker.EngineLoop;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Client disconnects, the concurrency limit, admission control and unavailability, on a controlled real worker. */
@Timeout(120)
class LimitsAndDisconnectTest {
    static final String MODEL = "stories260K";
    static Model model;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void load() {
        model = Model.load(Fixtures.model(MODEL + ".gguf"), 2);
    }

    @AfterAll
    static void unload() {
        if (model != null) model.close();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) c.close();
    }

    record Stack(ControlledWorkerClient worker, Router router, ApiServer api, Http http) {}

    Stack stack(RouterConfig cfg) {
        KvLayout layout = KvLayout.of(model.config());
        EngineLoop loop = new EngineLoop(model, model.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), layout, 256);
        ControlledWorkerClient w = new ControlledWorkerClient(new InProcessWorkerClient("colocated-0", loop, true));
        open.add(w);
        Router router = new Router(MODEL, cfg, List.of(w), new ColocatedFlow());
        open.add(router);
        ApiServer api = ApiServer.start(router, served(), cfg);
        open.add(api);
        return new Stack(w, router, api, new Http(api.url()));
    }

    static ServedModel served() {
        return new ServedModel(MODEL, model.tokenizer(), Optional.empty(), model.config().contextLength(), 0);
    }

    static String longCompletion(boolean stream) {
        return "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"ignore_eos\":true,\"temperature\":0,\"stream\":" + stream + "}";
    }

    /** Sends a request on a raw socket and reads until the first generated text arrives. */
    static Socket startStream(int port, String body) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(30_000);
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("data: {") && line.contains("\"text\":\"") && !line.contains("\"text\":\"\"")) return s;
        }
        throw new AssertionError("stream ended before any text");
    }

    @Test
    void clientDisconnectMidStreamAbortsTheRequestAndFreesItsBlocks() throws Exception {
        Stack st = stack(RouterConfig.defaults().withPort(0));
        CountDownLatch release = new CountDownLatch(1);
        st.worker().holdAfterFirstToken = release;
        Socket s = startStream(st.api().port(), longCompletion(true));
        // The worker is held right after the first token: the request is mid-generation, holding KV blocks.
        assertThat(st.worker().info().kvBlocksUsed()).isPositive();
        long closedAt = System.nanoTime();
        s.close();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2)).until(() -> !st.worker().aborts.isEmpty());
        double abortMillis = TimeUnit.NANOSECONDS.toMicros(st.worker().lastAbortNanos - closedAt) / 1000.0;
        System.out.println("disconnect → abort sent to the worker in " + abortMillis + " ms");
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            WorkerInfo w = st.worker().refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(w.kvBlocksUsed()).isZero();
            assertThat(w.running() + w.waiting()).isZero();
            assertThat(st.router().inFlight()).isZero();
        });
        assertThat(st.worker().finishes).singleElement().satisfies(f -> assertThat(f).contains(":abort:"));
        String m = st.http().get("/metrics").body();
        assertThat(Http.sample(m, "baton_requests_total{model=\"" + MODEL + "\",outcome=\"abort\"}")).isEqualTo(1);
        assertThat(Http.sample(m, "baton_kv_blocks_used{role=\"colocated\",worker=\"colocated-0\"}")).isZero();
    }

    @Test
    void clientDisconnectDuringANonStreamedRequestAbortsItToo() throws Exception {
        Stack st = stack(RouterConfig.defaults().withPort(0));
        CountDownLatch release = new CountDownLatch(1);
        st.worker().holdAfterFirstToken = release;
        Socket s = new Socket("127.0.0.1", st.api().port());
        byte[] b = longCompletion(false).getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(b);
        s.getOutputStream().flush();
        assertThat(st.worker().firstTokenReached.await(30, TimeUnit.SECONDS)).isTrue();
        s.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> !st.worker().aborts.isEmpty());
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(st.worker().refreshInfo().toCompletableFuture().get(5, TimeUnit.SECONDS).kvBlocksUsed()).isZero());
        assertThat(st.worker().finishes).singleElement().satisfies(f -> assertThat(f).contains(":abort:"));
    }

    @Test
    void requestsBeyondTheConcurrencyLimitGet429() throws Exception {
        Stack st = stack(RouterConfig.defaults().withPort(0).withMaxConcurrentRequests(1));
        CountDownLatch release = new CountDownLatch(1);
        st.worker().holdAfterFirstToken = release;
        CompletableFuture<HttpResponse<String>> first = st.http().postAsync("/v1/completions", longCompletion(false).replace("200", "20"));
        assertThat(st.worker().firstTokenReached.await(30, TimeUnit.SECONDS)).isTrue();
        HttpResponse<String> second = st.http().post("/v1/completions", longCompletion(false));
        JsonNode e = ServeTest.assertError(second, 429, null);
        assertThat(e.get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(e.get("message").asText()).contains("limit 1");
        release.countDown();
        assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        st.worker().holdAfterFirstToken = null;
        assertThat(st.http().post("/v1/completions", longCompletion(false).replace("200", "4")).statusCode()).isEqualTo(200);
        String m = st.http().get("/metrics").body();
        assertThat(Http.sample(m, "baton_requests_total{model=\"" + MODEL + "\",outcome=\"refused\"}")).isEqualTo(1);
    }

    @Test
    void admissionControlRefusesWhenThePredictedTimeToFirstTokenIsTooLong() throws Exception {
        // Assumed speed 1 token/s and a limit of 1 ms × 1: with any prefill work queued, a request is predicted far
        // past the limit.
        Stack st = stack(RouterConfig.defaults().withPort(0).withAdmission(0.001, 1, 1));
        CountDownLatch release = new CountDownLatch(1);
        st.worker().holdAfterFirstToken = release;
        // An idle worker always admits, however slow it is believed to be.
        CompletableFuture<HttpResponse<String>> a = st.http().postAsync("/v1/completions", longCompletion(false).replace("200", "4"));
        assertThat(st.worker().firstTokenReached.await(30, TimeUnit.SECONDS)).isTrue();
        // The worker is held: b waits in its queue with its whole prompt still to prefill.
        CompletableFuture<HttpResponse<String>> b = st.http().postAsync("/v1/completions", longCompletion(false).replace("200", "4"));
        await().atMost(Duration.ofSeconds(10)).until(() -> st.worker().info().queuedPrefillTokens() > 0);
        JsonNode e = ServeTest.assertError(st.http().post("/v1/completions", longCompletion(false)), 429, null);
        assertThat(e.get("message").asText()).contains("predicted time to first token");
        release.countDown();
        assertThat(a.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(b.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(st.router().admission().prefillSpeed("colocated-0")).as("measured from the first tokens").isNotEqualTo(1.0);
    }

    @Test
    void noWorkerMeansUnhealthyAnd503() {
        RouterConfig cfg = RouterConfig.defaults().withPort(0);
        Router router = new Router(MODEL, cfg, List.of(), new ColocatedFlow());
        open.add(router);
        ApiServer api = ApiServer.start(router, served(), cfg);
        open.add(api);
        Http http = new Http(api.url());
        assertThat(http.get("/health").statusCode()).isEqualTo(503);
        JsonNode e = ServeTest.assertError(http.post("/v1/completions", longCompletion(false)), 503, null);
        assertThat(e.get("code").asText()).isEqualTo("service_unavailable");
    }

    @Test
    void aWorkerThatIsDownIsNotRoutedTo() {
        Stack st = stack(RouterConfig.defaults().withPort(0));
        assertThat(st.http().get("/health").statusCode()).isEqualTo(200);
        st.worker().close();
        assertThat(st.http().get("/health").statusCode()).isEqualTo(503);
        ServeTest.assertError(st.http().post("/v1/completions", longCompletion(false)), 503, null);
        String m = st.http().get("/metrics").body();
        assertThat(Http.sample(m, "baton_worker_up{role=\"colocated\",worker=\"colocated-0\"}")).isZero();
        assertThat(Http.sample(m, "baton_requests_total{model=\"" + MODEL + "\",outcome=\"unavailable\"}")).isEqualTo(1);
    }
}
