package io.baton.bench.report;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.baton.bench.metrics.Summary;
import io.baton.bench.run.ClientStats;
import io.baton.bench.run.RunResult;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes {@code result.json} (schema in {@code docs/bench.md}, version {@value #SCHEMA_VERSION}). Seconds everywhere;
 * a value that cannot be computed (no completed request, one-token outputs for TPOT) is {@code null}.
 */
public final class ResultJson {
    public static final int SCHEMA_VERSION = 1;

    private ResultJson() {}

    /** One measured run with its summary. */
    public record Run(RunResult run, Summary summary) {}

    /**
     * @param config the run's settings, written as given (strings, numbers, booleans, lists, maps)
     * @param runs   one entry, or one per rate of a sweep; the last one's summary and requests are the top-level ones
     */
    public static void write(Path file, Map<String, Object> config, List<Run> runs, boolean withSweep) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(file.toFile(), JsonEncoding.UTF8)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeNumberField("schema_version", SCHEMA_VERSION);
            g.writeStringField("tool", "baton bench serve");
            g.writeStringField("created", java.time.Instant.now().toString());
            g.writeFieldName("config");
            value(g, config);
            Run last = runs.getLast();
            g.writeFieldName("request_rate");
            rate(g, last.run().requestRate());
            g.writeFieldName("summary");
            summary(g, last.summary());
            g.writeFieldName("client");
            client(g, last.run().client());
            if (withSweep) {
                g.writeArrayFieldStart("sweep");
                for (Run r : runs) {
                    g.writeStartObject();
                    g.writeFieldName("request_rate");
                    rate(g, r.run().requestRate());
                    g.writeFieldName("summary");
                    summary(g, r.summary());
                    g.writeFieldName("client");
                    client(g, r.run().client());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeArrayFieldStart("requests");
            for (RequestResult r : last.run().results()) request(g, r);
            g.writeEndArray();
            g.writeEndObject();
        }
    }

    static void rate(JsonGenerator g, double rate) throws IOException {
        if (Double.isNaN(rate)) g.writeString("trace");
        else if (Double.isInfinite(rate)) g.writeString("inf");
        else g.writeNumber(rate);
    }

    static void summary(JsonGenerator g, Summary s) throws IOException {
        g.writeStartObject();
        g.writeNumberField("completed", s.completed());
        g.writeNumberField("failed", s.failed());
        g.writeObjectFieldStart("errors");
        for (var e : s.errors().entrySet()) g.writeNumberField(e.getKey(), e.getValue());
        g.writeEndObject();
        num(g, "duration", s.duration());
        g.writeNumberField("total_input_tokens", s.totalInputTokens());
        g.writeNumberField("total_output_tokens", s.totalOutputTokens());
        num(g, "request_throughput", s.requestThroughput());
        num(g, "output_token_throughput", s.outputTokenThroughput());
        num(g, "total_token_throughput", s.totalTokenThroughput());
        dist(g, "ttft", s.ttft());
        dist(g, "tpot", s.tpot());
        dist(g, "itl", s.itl());
        dist(g, "e2el", s.e2el());
        num(g, "tbt", s.tbt());
        num(g, "goodput", s.goodput());
        num(g, "slo_attainment", s.sloAttainment());
        g.writeObjectFieldStart("slo");
        num(g, "percentile", s.sloSpec().percentile());
        for (var e : s.slo().entrySet()) {
            g.writeObjectFieldStart(e.getKey());
            num(g, "threshold", e.getValue().threshold());
            num(g, "value", e.getValue().value());
            g.writeBooleanField("met", e.getValue().met());
            num(g, "attainment", e.getValue().attainment());
            g.writeEndObject();
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /** The {@code client} object (also written by {@code baton bench router}). */
    public static void client(JsonGenerator g, ClientStats c) throws IOException {
        g.writeStartObject();
        g.writeNumberField("event_loops", c.eventLoops());
        dist(g, "timer_lag", c.timerLag());
        dist(g, "handoff_lag", c.handoffLag());
        dist(g, "loop_lag", c.loopLag());
        num(g, "loop_cpu_seconds", c.loopCpuSeconds());
        num(g, "loop_utilization", c.loopUtilization());
        g.writeNumberField("events", c.events());
        num(g, "cpu_us_per_event", c.cpuMicrosPerEvent());
        g.writeEndObject();
    }

    static void request(JsonGenerator g, RequestResult r) throws IOException {
        g.writeStartObject();
        g.writeNumberField("index", r.index());
        num(g, "scheduled_time", r.scheduledTime());
        num(g, "send_time", r.sendTime());
        g.writeArrayFieldStart("token_times");
        for (double t : r.tokenTimes()) g.writeNumber(round(t));
        g.writeEndArray();
        num(g, "end_time", r.endTime());
        num(g, "ttft", r.ok() ? r.ttft() : Double.NaN);
        num(g, "tpot", r.ok() ? r.tpot() : Double.NaN);
        num(g, "e2el", r.ok() ? r.e2el() : Double.NaN);
        g.writeNumberField("input_tokens", r.inputTokens());
        if (r.serverInputTokens() >= 0) g.writeNumberField("server_input_tokens", r.serverInputTokens());
        else g.writeNullField("server_input_tokens");
        g.writeNumberField("output_tokens", r.outputTokens());
        g.writeNumberField("requested_output_tokens", r.requestedOutputTokens());
        if (r.ok()) {
            g.writeNullField("error");
        } else {
            g.writeObjectFieldStart("error");
            g.writeStringField("code", r.errorCode());
            g.writeStringField("message", r.errorMessage());
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    /** A distribution as {@code name: {count, mean, std, min, max, p50, ...}}. */
    public static void dist(JsonGenerator g, String name, Distribution d) throws IOException {
        g.writeObjectFieldStart(name);
        g.writeNumberField("count", d.count());
        num(g, "mean", d.mean());
        num(g, "std", d.std());
        num(g, "min", d.min());
        num(g, "max", d.max());
        for (var e : d.percentiles().entrySet()) num(g, e.getKey(), e.getValue());
        g.writeEndObject();
    }

    /** A number field, null when it cannot be computed (NaN or infinite). */
    public static void num(JsonGenerator g, String name, double v) throws IOException {
        if (Double.isNaN(v) || Double.isInfinite(v)) g.writeNullField(name);
        else g.writeNumberField(name, v);
    }

    /** Token times to the nanosecond are noise at this size: microseconds keep files small. */
    private static double round(double seconds) {
        return Math.rint(seconds * 1e6) / 1e6;
    }

    @SuppressWarnings("unchecked")
    static void value(JsonGenerator g, Object v) throws IOException {
        switch (v) {
            case null -> g.writeNull();
            case Map<?, ?> m -> {
                g.writeStartObject();
                for (var e : m.entrySet()) {
                    g.writeFieldName(String.valueOf(e.getKey()));
                    value(g, e.getValue());
                }
                g.writeEndObject();
            }
            case List<?> l -> {
                g.writeStartArray();
                for (Object o : l) value(g, o);
                g.writeEndArray();
            }
            case Double d when d.isNaN() || d.isInfinite() -> g.writeString(d.isNaN() ? "NaN" : d > 0 ? "inf" : "-inf");
            case Number n -> g.writeNumber(n.toString());
            case Boolean b -> g.writeBoolean(b);
            default -> g.writeString(v.toString());
        }
    }
}
