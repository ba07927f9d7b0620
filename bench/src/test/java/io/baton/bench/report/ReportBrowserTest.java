package io.baton.bench.report;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import io.baton.bench.ServeBenchmarkTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Loads a real {@code report.html} in headless Chromium (Debian's {@code chromium}, installed by
 * {@code .ci/install-chromium}) and checks that every chart was drawn, with no script error and no request leaving
 * the file. Without the browser the test skips, except in CI ({@code CI} or {@code BATON_REQUIRE_SHARED} set).
 */
@Timeout(180)
class ReportBrowserTest {
    static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    static final List<String> CHARTS = List.of("cdf-ttft", "cdf-tpot", "cdf-itl", "cdf-e2el", "sweep-ttft", "sweep-tpot",
            "sweep-goodput", "timeline");

    @Test
    void chartsRenderOffline(@TempDir Path dir) throws Exception {
        if (!Files.isExecutable(CHROMIUM)) {
            String msg = "SKIPPED: " + CHROMIUM + " not installed (run .ci/install-chromium)";
            if (System.getenv("CI") != null || System.getenv("BATON_REQUIRE_SHARED") != null) throw new AssertionError(msg);
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        Path html = ServeBenchmarkTest.sweep(dir).reportHtml();
        try (Playwright pw = Playwright.create(new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
             Browser browser = pw.chromium().launch(new BrowserType.LaunchOptions().setExecutablePath(CHROMIUM).setHeadless(true)
                     .setArgs(List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync")))) {
            Page page = browser.newPage();
            List<String> errors = new ArrayList<>(), requests = new ArrayList<>();
            page.onPageError(e -> errors.add(e));
            page.onConsoleMessage(m -> {
                if (m.type().equals("error")) errors.add(m.text());
            });
            page.onRequest(r -> requests.add(r.url()));
            page.navigate(html.toUri().toString());
            page.waitForFunction("() => window.batonCharts && window.batonCharts.rendered.length + window.batonCharts.empty.length >= 8");
            assertThat(errors).isEmpty();
            assertThat(requests).allMatch(u -> u.startsWith("file:"), "only the file itself is loaded");
            assertThat(page.evaluate("() => window.batonCharts.empty")).asList().isEmpty();
            for (String id : CHARTS) {
                assertThat(page.getAttribute("#" + id, "data-rendered")).as(id).isEqualTo("true");
                Object points = page.evaluate("id => +document.getElementById(id).dataset.points", id);
                assertThat(((Number) points).intValue()).as("points drawn in %s", id).isPositive();
                Object paths = page.evaluate("id => [...document.querySelectorAll('#' + id + ' path.series')].filter(p => p.getAttribute('d').length > 10).length", id);
                assertThat(((Number) paths).intValue()).as("series lines in %s", id).isPositive();
                Object box = page.evaluate("id => { const b = document.querySelector('#' + id + ' path.series').getBBox(); return b.width * b.height + b.width + b.height; }", id);
                assertThat(((Number) box).doubleValue()).as("drawn extent of %s", id).isPositive();
            }
            // the timeline shows the sampled requests, failed ones included
            Object dots = page.evaluate("() => document.querySelectorAll('#timeline circle').length");
            assertThat(((Number) dots).intValue()).isGreaterThan(20);
            assertThat(page.textContent("body")).contains("Summary").contains("goodput").contains("http_429");
            // kept for a look by eye: target/report-screenshot.png
            page.setViewportSize(1000, 800);
            page.screenshot(new Page.ScreenshotOptions().setPath(Path.of("target", "report-screenshot.png")).setFullPage(true));
        }
    }
}
