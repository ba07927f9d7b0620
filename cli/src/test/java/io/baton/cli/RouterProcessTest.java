package io.baton.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RouterProcessTest {

    @Test
    void parallelGcUnlessTheOptionsChooseACollector() {
        assertThat(RouterProcess.jvmFlags(null)).contains("-XX:+UseParallelGC", "-Xss4m");
        assertThat(RouterProcess.jvmFlags(" -Xmn1g ")).contains("-XX:+UseParallelGC").endsWith("-Xmn1g");
        assertThat(RouterProcess.jvmFlags("-XX:+UseZGC -Xmx4g"))
                .doesNotContain("-XX:+UseParallelGC").endsWith("-XX:+UseZGC", "-Xmx4g");
        assertThat(RouterProcess.jvmFlags("-XX:+UseG1GC")).doesNotContain("-XX:+UseParallelGC");
    }
}
