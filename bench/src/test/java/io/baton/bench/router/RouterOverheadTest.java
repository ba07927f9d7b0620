package io.baton.bench.router;

import io.baton.bench.client.StreamOutcome;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The matching of arrived tokens to their hand-over, on streams made up here (the end-to-end run is in the cli tests). */
class RouterOverheadTest {
    /** A completed stream whose token k arrived at {@code arrival[k]} with text {@code texts[k]}. */
    static StreamOutcome stream(long[] arrival, String... texts) {
        return new StreamOutcome(arrival, arrival.length == 0 ? 0 : arrival[arrival.length - 1], texts.length, 10, "length", null, null, texts);
    }

    @Test
    void overheadIsArrivalMinusHandOverForEveryTokenOfEveryStream() {
        StreamOutcome a = stream(new long[]{1_000, 2_500, 4_000}, "0:0:900;", "0:1:2000;", "0:2:4000;");
        StreamOutcome b = stream(new long[]{7_000, 8_000, 9_000}, "1:0:6000;", "1:1:7990;", "1:2:8100;");
        RouterOverhead.Round r = RouterOverhead.match(null, new StreamOutcome[]{a, b}, 3);
        assertThat(r.failed()).isZero();
        assertThat(r.errors()).isEmpty();
        assertThat(r.matched()).isEqualTo(6);
        assertThat(r.overhead()).containsExactly(100e-9, 500e-9, 0, 1000e-9, 10e-9, 900e-9);
    }

    @Test
    void aStreamWhoseTokensDoNotMatchFailsWithTheReason() {
        long[] t3 = {10, 20, 30};
        StreamOutcome ok = stream(t3, "5:0:1;", "5:1:2;", "5:2:3;");
        StreamOutcome[] bad = {
                stream(new long[]{10, 20}, "1:0:1;", "1:1:2;"),                       // token_count
                stream(t3, "2:0:1;", "2:1:2;", "hello"),                              // unreadable_token
                stream(t3, "3:0:1;", "4:1:2;", "3:2:3;"),                             // mixed_requests
                stream(t3, "6:0:1;", "6:2:2;", "6:1:3;"),                             // out_of_order
                stream(t3, "5:0:1;", "5:1:2;", "5:2:3;"),                             // duplicate_request (after ok)
                stream(t3, "7:0:1;", "7:1:2;", "7:2:31;"),                            // clock_mismatch
                new StreamOutcome(t3, 30, 4, 10, "length", null, null, new String[]{"8:0:1;", "8:1:2;", "8:2:3;"}), // usage_mismatch
                new StreamOutcome(new long[0], 0, -1, -1, null, "http_429", "Too many requests", null),
                null,
        };
        StreamOutcome[] all = new StreamOutcome[bad.length + 1];
        all[0] = ok;
        System.arraycopy(bad, 0, all, 1, bad.length);
        RouterOverhead.Round r = RouterOverhead.match(null, all, 3);
        assertThat(r.failed()).isEqualTo(bad.length);
        assertThat(r.matched()).isEqualTo(3);
        assertThat(r.overhead()).containsExactly(9e-9, 18e-9, 27e-9);
        assertThat(r.errors()).containsOnlyKeys("token_count", "unreadable_token", "mixed_requests", "out_of_order",
                "duplicate_request", "clock_mismatch", "usage_mismatch", "http_429", "client_error");
        assertThat(r.errors().values()).containsOnly(1);
        assertThat(r.firstError()).startsWith("token_count: expected 3 tokens, got 2");
    }
}
