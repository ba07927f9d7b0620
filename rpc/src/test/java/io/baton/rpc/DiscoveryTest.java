package io.baton.rpc;

import io.baton.engine.Fixtures;
import io.baton.engine.Model;
import io.baton.engine.kv.KvLayout;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.router.DisaggregatedFlow;
import io.baton.router.Router;
import io.baton.router.RouterConfig;
import io.baton.router.WorkerInfo;
import io.baton.worker.EngineLoop;
import io.baton.worker.scheduler.Role;
import io.baton.worker.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Discovery over real sockets: announcements add a worker and silence removes it; the membership adds answering
 * workers of the router's model to the router, refuses a worker of another model, and drops one that stops answering.
 */
@Timeout(60)
class DiscoveryTest {

    @Test
    void announcedWorkersComeAndGo() throws Exception {
        try (AnnouncedDiscovery d = AnnouncedDiscovery.start("127.0.0.1", 0, Duration.ofMillis(600))) {
            assertThat(d.interval()).isEqualTo(Duration.ofMillis(200));
            BlockingQueue<String> changes = new LinkedBlockingQueue<>();
            d.subscribe(new Discovery.Listener() {
                @Override
                public void added(WorkerEndpoint w) {
                    changes.add("+" + w);
                }

                @Override
                public void removed(WorkerEndpoint w) {
                    changes.add("-" + w);
                }
            });
            WorkerEndpoint self = new WorkerEndpoint("127.0.0.1", 4242);
            try (Announcer a = Announcer.start(new WorkerEndpoint("127.0.0.1", d.port()), self)) {
                assertThat(changes.poll(10, TimeUnit.SECONDS)).isEqualTo("+127.0.0.1:4242");
                assertThat(d.workers()).containsExactly(self);
                // Announcing every 200 ms keeps it for several timeouts.
                assertThat(changes.poll(1500, TimeUnit.MILLISECONDS)).isNull();
                assertThat(a.registered()).isTrue();
            }
            assertThat(changes.poll(10, TimeUnit.SECONDS)).isEqualTo("-127.0.0.1:4242");
            assertThat(d.workers()).isEmpty();
        }
    }

    @Test
    void membershipAddsWorkersOfTheModelAndDropsSilentOnes() throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (Model m = Model.load(Fixtures.model("stories260K.gguf"), 1);
             EngineLoop good = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), KvLayout.of(m.config()), 32);
             EngineLoop other = new EngineLoop(m, m.tokenizer(), SchedulerConfig.defaults(Role.COLOCATED), KvLayout.of(m.config()), 32);
             Router router = new Router("stories260K", RouterConfig.defaults(), List.of(), new DisaggregatedFlow(0))) {
            byte[] fp = ModelFingerprint.of(m.config(), m.gguf()).toBytes();
            byte[] otherFp = ModelFingerprint.synthetic("another model").toBytes();
            GrpcWorkerServer goodServer = GrpcWorkerServer.start(good, new GrpcWorkerServer.Identity("m.gguf", fp, m.config().contextLength()), "127.0.0.1", 0);
            try (GrpcWorkerServer otherServer = GrpcWorkerServer.start(other, new GrpcWorkerServer.Identity("o.gguf", otherFp, m.config().contextLength()), "127.0.0.1", 0);
                 WorkerMembership membership = new WorkerMembership(router, fp, GrpcWorkerClient.Options.withTimeout(Duration.ofMillis(800)), timer,
                         List.of(new StaticDiscovery(List.of(new WorkerEndpoint("127.0.0.1", goodServer.port()),
                                 new WorkerEndpoint("127.0.0.1", otherServer.port())))))) {
                String goodId = "127.0.0.1:" + goodServer.port();
                awaitTrue(() -> router.workers().size() == 1 && router.healthy());
                assertThat(router.workers()).extracting(WorkerInfo::id).containsExactly(goodId);
                goodServer.close(); // the worker goes silent
                awaitTrue(() -> router.workers().isEmpty() && !router.healthy());
                assertThat(router.workers()).isEmpty(); // the other model's worker was never taken in
            } finally {
                goodServer.close();
            }
        } finally {
            timer.shutdownNow();
        }
    }

    static void awaitTrue(BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!c.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not reached in time").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
