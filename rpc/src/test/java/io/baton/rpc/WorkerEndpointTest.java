package io.baton.rpc;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WorkerEndpointTest {
    @Test
    void parsesHostPortForms() {
        assertThat(WorkerEndpoint.parse("127.0.0.1:9000")).isEqualTo(new WorkerEndpoint("127.0.0.1", 9000));
        assertThat(WorkerEndpoint.parse(" grpc://worker-3:1 ")).isEqualTo(new WorkerEndpoint("worker-3", 1));
        assertThat(WorkerEndpoint.parse("http://localhost:65535/")).isEqualTo(new WorkerEndpoint("localhost", 65535));
        WorkerEndpoint v6 = WorkerEndpoint.parse("[::1]:7000");
        assertThat(v6).isEqualTo(new WorkerEndpoint("::1", 7000));
        assertThat(v6.toString()).isEqualTo("[::1]:7000");
        assertThat(WorkerEndpoint.parseList("a:1,,b:2")).containsExactly(new WorkerEndpoint("a", 1), new WorkerEndpoint("b", 2));
    }

    @Test
    void refusesWhatIsNotHostPort() {
        for (String bad : List.of("", "host", "host:", ":80", "host:http", "host:0", "host:70000", "host:-1")) {
            assertThatThrownBy(() -> WorkerEndpoint.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(bad.isEmpty() ? "HOST:PORT" : bad);
        }
    }
}
