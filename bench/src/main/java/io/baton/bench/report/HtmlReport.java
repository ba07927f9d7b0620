package io.baton.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.baton.bench.metrics.Distribution;
import io.baton.bench.metrics.RequestResult;
import io.baton.bench.metrics.Summary;
import io.baton.bench.run.ClientStats;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes {@code report.html}: one self-contained page (tables made here, charts drawn as inline SVG by the page's
 * own script from data embedded in it), viewable offline. Charts: CDFs of TTFT, TPOT, ITL and E2E latency with the
 * SLO thresholds; latency, throughput and goodput against the request rate for sweeps; token arrivals of a sample of
 * requests.
 */
public final class HtmlReport {
    /** Points kept per CDF (evenly spaced quantiles) and requests and tokens per row in the timeline. */
    static final int CDF_POINTS = 500, TIMELINE_ROWS = 40, TIMELINE_TOKENS = 400;
    private static final ObjectMapper JSON = new ObjectMapper();

    private HtmlReport() {}

    public static void write(Path file, String title, Map<String, Object> config, List<ResultJson.Run> runs) throws IOException {
        ResultJson.Run last = runs.getLast();
        Summary s = last.summary();
        ObjectNode data = JSON.createObjectNode();
        List<RequestResult> ok = last.run().results().stream().filter(RequestResult::ok).toList();
        ObjectNode cdf = data.putObject("cdf");
        cdf.set("ttft", quantiles(ok.stream().mapToDouble(RequestResult::ttft).toArray()));
        cdf.set("tpot", quantiles(ok.stream().mapToDouble(RequestResult::tpot).toArray()));
        cdf.set("itl", quantiles(ok.stream().flatMapToDouble(r -> Arrays.stream(r.itls())).toArray()));
        cdf.set("e2el", quantiles(ok.stream().mapToDouble(RequestResult::e2el).toArray()));
        ObjectNode slo = data.putObject("slo");
        s.sloSpec().thresholds().forEach(slo::put);
        data.put("slo_percentile", s.sloSpec().percentile());
        ArrayNode sweep = data.putArray("sweep");
        for (ResultJson.Run r : runs) {
            ObjectNode o = sweep.addObject();
            o.put("label", rateLabel(r.run().requestRate()));
            pct(o.putObject("ttft"), r.summary().ttft());
            pct(o.putObject("tpot"), r.summary().tpot());
            pct(o.putObject("itl"), r.summary().itl());
            o.put("request_throughput", finite(r.summary().requestThroughput()));
            o.put("goodput", finite(r.summary().goodput()));
        }
        ArrayNode timeline = data.putArray("timeline");
        List<RequestResult> all = last.run().results();
        int rows = Math.min(TIMELINE_ROWS, all.size());
        for (int i = 0; i < rows; i++) {
            RequestResult r = all.get((int) ((long) i * all.size() / rows));
            ObjectNode o = timeline.addObject();
            o.put("index", r.index());
            o.put("send", r.sendTime());
            o.put("end", r.endTime());
            o.put("error", r.errorCode());
            ArrayNode t = o.putArray("tokens");
            double[] tt = r.tokenTimes();
            int k = Math.min(TIMELINE_TOKENS, tt.length);
            for (int j = 0; j < k; j++) t.add(tt[(int) ((long) j * tt.length / k)]);
        }
        String html = template()
                .replace("{{TITLE}}", esc(title))
                .replace("{{SUBTITLE}}", esc(subtitle(config)))
                .replace("{{TABLES}}", tables(runs))
                .replace("{{DATA}}", JSON.writeValueAsString(data).replace("</", "<\\/"));
        Files.writeString(file, html, StandardCharsets.UTF_8);
    }

    private static ArrayNode quantiles(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        ArrayNode a = JSON.createArrayNode();
        int k = Math.min(CDF_POINTS, v.length);
        for (int i = 0; i < k; i++) a.add(v[k == 1 ? 0 : (int) Math.round((double) i * (v.length - 1) / (k - 1))]);
        return a;
    }

    private static void pct(ObjectNode o, Distribution d) {
        for (var e : d.percentiles().entrySet()) o.put(e.getKey(), finite(e.getValue()));
    }

    private static Double finite(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
    }

    public static String rateLabel(double rate) {
        if (Double.isNaN(rate)) return "trace";
        if (Double.isInfinite(rate)) return "inf";
        return rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate);
    }

    private static String subtitle(Map<String, Object> c) {
        return c.get("model") + " at " + c.get("url") + " (" + c.get("endpoint") + "), dataset " + c.get("dataset")
                + ", " + c.get("num_prompts") + " prompts, request rate " + c.get("request_rate")
                + (c.get("max_concurrency") != null ? ", max concurrency " + c.get("max_concurrency") : "");
    }

    private static String tables(List<ResultJson.Run> runs) {
        ResultJson.Run last = runs.getLast();
        Summary s = last.summary();
        StringBuilder h = new StringBuilder();
        h.append("<h2>Summary").append(runs.size() > 1 ? " (rate " + rateLabel(last.run().requestRate()) + ")" : "").append("</h2>\n");
        h.append("<table><tr><th>latency (ms)</th><th>mean</th>");
        for (String p : s.ttft().percentiles().keySet()) h.append("<th>").append(p).append("</th>");
        h.append("<th>max</th></tr>\n");
        row(h, "TTFT", s.ttft());
        row(h, "TPOT", s.tpot());
        row(h, "ITL", s.itl());
        row(h, "E2E latency", s.e2el());
        h.append("</table>\n<table>");
        kv(h, "completed / failed", s.completed() + " / " + s.failed());
        if (!s.errors().isEmpty()) kv(h, "errors", esc(s.errors().toString()));
        kv(h, "duration (s)", f(s.duration()));
        kv(h, "request throughput (req/s)", f(s.requestThroughput()));
        kv(h, "output token throughput (tok/s)", f(s.outputTokenThroughput()));
        kv(h, "total token throughput (tok/s)", f(s.totalTokenThroughput()));
        kv(h, "TBT: mean of slowest 10% of gaps (ms)", f(s.tbt() * 1000));
        kv(h, "goodput (req/s)", f(s.goodput()));
        kv(h, "SLO attainment", f(s.sloAttainment() * 100) + " %");
        s.slo().forEach((m, r) -> kv(h, "SLO " + m + " p" + Distribution.name(s.sloSpec().percentile()).substring(1) + " &le; "
                + f(r.threshold() * 1000) + " ms", f(r.value() * 1000) + " ms <span class=\"" + (r.met() ? "ok\">met" : "bad\">missed")
                + "</span> (" + f(r.attainment() * 100) + " % within)"));
        ClientStats c = last.run().client();
        kv(h, "client: event-loop lag p99 / max (ms)", f(c.loopLag().p(99) * 1000) + " / " + f(c.loopLag().max() * 1000));
        kv(h, "client: event-loop CPU per event (&micro;s), utilization", f(c.cpuMicrosPerEvent()) + ", " + f(c.loopUtilization() * 100) + " %");
        h.append("</table>\n");
        if (runs.size() > 1) {
            h.append("<h2>Per rate</h2>\n<table><tr><th>rate</th><th>completed</th><th>failed</th><th>req/s</th><th>goodput</th>"
                    + "<th>attainment</th><th>TTFT p90 (ms)</th><th>TPOT p90 (ms)</th><th>ITL p99 (ms)</th></tr>\n");
            for (ResultJson.Run r : runs) {
                Summary x = r.summary();
                h.append("<tr><td>").append(rateLabel(r.run().requestRate())).append("</td><td>").append(x.completed())
                        .append("</td><td>").append(x.failed()).append("</td><td>").append(f(x.requestThroughput()))
                        .append("</td><td>").append(f(x.goodput())).append("</td><td>").append(f(x.sloAttainment() * 100))
                        .append(" %</td><td>").append(f(x.ttft().p(90) * 1000)).append("</td><td>").append(f(x.tpot().p(90) * 1000))
                        .append("</td><td>").append(f(x.itl().p(99) * 1000)).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        return h.toString();
    }

    private static void row(StringBuilder h, String name, Distribution d) {
        h.append("<tr><td>").append(name).append("</td><td>").append(f(d.mean() * 1000)).append("</td>");
        for (double v : d.percentiles().values()) h.append("<td>").append(f(v * 1000)).append("</td>");
        h.append("<td>").append(f(d.max() * 1000)).append("</td></tr>\n");
    }

    private static void kv(StringBuilder h, String k, String v) {
        h.append("<tr><td>").append(k).append("</td><td>").append(v).append("</td></tr>\n");
    }

    static String f(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "&ndash;" : String.format(Locale.ROOT, "%.2f", v);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String template() throws IOException {
        try (InputStream in = HtmlReport.class.getResourceAsStream("/io/baton/bench/report/report.html")) {
            if (in == null) throw new IOException("report template missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
