package io.baton.jmh;

import io.baton.engine.parallel.WorkerPool;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Cost of one parallel section with (almost) no work: the hand-off that every matrix product of a decode step pays.
 * {@code spinMicros = 0} makes every section wake parked workers (the cost when sections are far apart).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class WorkerPoolBench {

    @Param({"2"})
    public int threads;

    @Param({"50", "0"})
    public int spinMicros;

    private WorkerPool pool;
    private final long[] sink = new long[64];

    @Setup
    public void setup() {
        pool = new WorkerPool(threads, spinMicros * 1000L);
    }

    @TearDown
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public long section() {
        pool.forRange(threads, 1, (from, to) -> sink[8 * from]++);
        return sink[0];
    }
}
