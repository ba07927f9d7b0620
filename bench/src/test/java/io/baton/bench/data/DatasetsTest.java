package io.baton.bench.data;

import io.baton.bench.SharedData;
import io.baton.bench.tokens.ApproxTokenizer;
import io.baton.bench.tokens.PromptTokenizer;
import io.baton.bench.tokens.PromptTokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatasetsTest {
    private final PromptTokenizer tok = new ApproxTokenizer();

    @Test
    void approxTokenizerRoundTripsAndCounts() {
        String s = "Hello, world!  The year 2024 was\tinteresting: über-café.\n";
        assertThat(tok.decode(tok.encode(s))).isEqualTo(s);
        assertThat(tok.count(s)).isEqualTo(tok.encode(s).length);
        assertThat(tok.count(" the")).isEqualTo(1);
        assertThat(tok.count(" people")).isEqualTo(2);       // 7 characters: two chunks of at most 4
        assertThat(tok.count("12345")).isEqualTo(2);         // digits go in runs of three
        assertThat(tok.count("")).isZero();
        assertThat(PromptTokenizers.forFile(null)).isInstanceOf(ApproxTokenizer.class);
        assertThatThrownBy(() -> PromptTokenizers.forFile(Path.of("/nonexistent.gguf"))).hasMessageContaining("not found");
    }

    @Test
    void synthesizedTextHasExactLengthAndDependsOnSeedOnly() {
        TextSynth synth = new TextSynth(tok);
        for (int n : new int[]{1, 2, 7, 100, 513}) {
            String t = synth.text(n, 5);
            assertThat(tok.count(t)).as("tokens of a %d-token text", n).isEqualTo(n);
            assertThat(new TextSynth(new ApproxTokenizer()).text(n, 5)).isEqualTo(t);
        }
        assertThat(synth.text(50, 1)).isNotEqualTo(synth.text(50, 2));
        // pieces made separately join without changing their counts (every piece starts with a space)
        assertThat(tok.count(synth.text(30, 1) + synth.text(40, 2))).isEqualTo(70);
    }

    @Test
    void randomDatasetLengthsStayInRange() throws IOException {
        DatasetOptions o = DatasetOptions.defaults("random").withNumPrompts(200).withRandom(100, 20, 0.5, 16);
        List<BenchRequest> reqs = Datasets.load(o, tok);
        assertThat(reqs).hasSize(200);
        Set<Integer> inLens = new HashSet<>();
        String prefix = null;
        for (BenchRequest r : reqs) {
            String p = r.prompt().get();
            assertThat(tok.count(p)).isEqualTo(r.inputTokens());
            assertThat(r.inputTokens()).isBetween(16 + 50, 16 + 150);
            assertThat(r.outputTokens()).isBetween(10, 30);
            inLens.add(r.inputTokens());
            String pre = tok.decode(java.util.Arrays.copyOf(tok.encode(p), 16));
            if (prefix == null) prefix = pre;
            assertThat(pre).isEqualTo(prefix);
        }
        assertThat(inLens.size()).isGreaterThan(50);
        List<BenchRequest> fixed = Datasets.load(DatasetOptions.defaults("random").withNumPrompts(5).withRandom(64, 8, 0, 0), tok);
        assertThat(fixed).allSatisfy(r -> {
            assertThat(r.inputTokens()).isEqualTo(64);
            assertThat(r.outputTokens()).isEqualTo(8);
        });
        assertThatThrownBy(() -> Datasets.load(DatasetOptions.defaults("random").withRandom(10, 10, 1.0, 0), tok))
                .hasMessageContaining("--random-range-ratio");
    }

    @Test
    void prefixRepetitionSharesPrefixes() throws IOException {
        DatasetOptions o = new DatasetOptions("prefix-repetition", null, 30, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 40, 10, 3, 12);
        List<BenchRequest> reqs = Datasets.load(o, tok);
        assertThat(reqs).hasSize(30);
        Map<String, Integer> prefixes = new HashMap<>();
        for (BenchRequest r : reqs) {
            assertThat(r.inputTokens()).isEqualTo(50);
            assertThat(r.outputTokens()).isEqualTo(12);
            prefixes.merge(tok.decode(java.util.Arrays.copyOf(tok.encode(r.prompt().get()), 40)), 1, Integer::sum);
        }
        assertThat(prefixes).hasSize(3).allSatisfy((p, n) -> assertThat(n).isEqualTo(10));
        assertThat(reqs.stream().map(r -> r.prompt().get()).distinct().count()).isEqualTo(30);
    }

    @Test
    void shareGptV3FirstHumanTurn() throws IOException {
        Path f = SharedData.file("sharegpt/ShareGPT_V3_filtered_500.json");
        List<ShareGptDataset.Entry> all = ShareGptDataset.read(f);
        assertThat(all).hasSize(500);
        assertThat(all.getFirst().prompt()).isEqualTo("How to stop automatic updates from the WSUS Server to a target machine");
        assertThat(all.getFirst().reference()).isNull();
        DatasetOptions o = DatasetOptions.defaults("sharegpt").withPath(f).withNumPrompts(100);
        List<BenchRequest> reqs = Datasets.load(o, tok);
        assertThat(reqs).hasSize(100);
        Set<String> texts = new HashSet<>();
        for (ShareGptDataset.Entry e : all) texts.add(e.prompt());
        for (BenchRequest r : reqs) {
            assertThat(texts).contains(r.prompt().get());
            assertThat(r.inputTokens()).isEqualTo(tok.count(r.prompt().get())).isBetween(4, 1024);
            assertThat(r.outputTokens()).isEqualTo(256);   // this file has no answers: the default output length
        }
        // another seed picks another order
        List<BenchRequest> other = Datasets.load(new DatasetOptions("sharegpt", f, 100, 9, 0, 0, 0, 0, 0, 256, 0, 1, 1, 0, 0, 1, 1), tok);
        assertThat(other.getFirst().prompt().get()).isNotEqualTo(reqs.getFirst().prompt().get());
    }

    @Test
    void shareGptWithAnswersUsesTheirLength() throws IOException {
        Path f = SharedData.file("sharegpt/sharegpt_sample_chat-demo-playground.json");
        List<ShareGptDataset.Entry> all = ShareGptDataset.read(f);
        assertThat(all).hasSize(50).allSatisfy(e -> assertThat(e.reference()).isNotNull());
        Map<String, String> answers = new HashMap<>();
        for (ShareGptDataset.Entry e : all) answers.put(e.prompt(), e.reference());
        List<BenchRequest> reqs = Datasets.load(DatasetOptions.defaults("sharegpt").withPath(f).withNumPrompts(80), tok);
        assertThat(reqs).hasSize(80);   // fewer usable entries than asked: the selection repeats
        for (BenchRequest r : reqs) {
            assertThat(r.outputTokens()).isEqualTo(tok.count(answers.get(r.prompt().get())));
            assertThat(r.inputTokens() + r.outputTokens()).isLessThanOrEqualTo(2048);
        }
        DatasetOptions fixed = new DatasetOptions("sharegpt", f, 10, 0, 0, 0, 0, 0, 33, 256, 0, 1, 1, 0, 0, 1, 1);
        assertThat(Datasets.load(fixed, tok)).allSatisfy(r -> assertThat(r.outputTokens()).isEqualTo(33));
    }

    @Test
    void mooncakeTraceLinesAndPrefixSharing() throws IOException {
        Path f = SharedData.file("mooncake/synthetic_trace.jsonl");
        List<MooncakeDataset.TraceLine> lines = MooncakeDataset.read(f, 0, Integer.MAX_VALUE);
        assertThat(lines).hasSize(3993);
        assertThat(lines.getFirst().inputLength()).isEqualTo(40160);
        assertThat(lines.getFirst().hashIds()).hasSize(79);
        // Full-scale prompts for lines 40..79 (three pairs among them share prefixes): every request's length matches
        // the trace, and two requests share text exactly as far as they share hash ids.
        lines = MooncakeDataset.read(f, 40, 40);
        List<BenchRequest> reqs = MooncakeDataset.load(f, new TextSynth(tok), 40, 40, 1.0, 1.0, 0);
        int[][] blocks = new int[40][];
        for (int i = 0; i < 40; i++) {
            BenchRequest r = reqs.get(i);
            int[] ids = tok.encode(r.prompt().get());
            assertThat(ids.length).isEqualTo(lines.get(i).inputLength()).isEqualTo(r.inputTokens());
            assertThat(r.outputTokens()).isEqualTo(lines.get(i).outputLength());
            assertThat(r.traceTime()).isEqualTo((lines.get(i).timestampMs() - lines.getFirst().timestampMs()) / 1000.0);
            blocks[i] = ids;
        }
        int sharingPairs = 0;
        for (int a = 0; a < 40; a++) {
            for (int b = a + 1; b < 40; b++) {
                int common = commonPrefix(lines.get(a).hashIds(), lines.get(b).hashIds());
                int sameTokens = commonPrefix(blocks[a], blocks[b]);
                int fullBlocksShared = Math.min(common, Math.min(lines.get(a).hashIds().length, lines.get(b).hashIds().length) - 1);
                assertThat(sameTokens).as("requests %d and %d share %d hash ids", a, b, common)
                        .isGreaterThanOrEqualTo(fullBlocksShared * MooncakeDataset.TRACE_BLOCK);
                if (common < Math.min(lines.get(a).hashIds().length, lines.get(b).hashIds().length)) {
                    assertThat(sameTokens).isLessThan((common + 1) * MooncakeDataset.TRACE_BLOCK);
                }
                if (common > 0) sharingPairs++;
            }
        }
        assertThat(sharingPairs).as("the trace's first lines do share prefixes").isPositive();
    }

    @Test
    void mooncakeScalingAndSlice() throws IOException {
        Path f = SharedData.file("mooncake/synthetic_trace.jsonl");
        List<MooncakeDataset.TraceLine> lines = MooncakeDataset.read(f, 100, 20);
        List<BenchRequest> reqs = MooncakeDataset.load(f, new TextSynth(tok), 100, 20, 0.125, 0.5, 0);
        assertThat(reqs).hasSize(20);
        for (int i = 0; i < 20; i++) {
            MooncakeDataset.TraceLine l = lines.get(i);
            int n = l.hashIds().length, last = l.inputLength() - 512 * (n - 1);
            int expected = (n - 1) * 64 + Math.clamp(Math.round(last * 0.125), 1, 64);
            assertThat(reqs.get(i).inputTokens()).isEqualTo(expected);
            assertThat(tok.count(reqs.get(i).prompt().get())).isEqualTo(expected);
            assertThat(reqs.get(i).outputTokens()).isEqualTo(Math.max(1, (int) Math.round(l.outputLength() * 0.5)));
        }
        assertThat(reqs.getFirst().traceTime()).isZero();
    }

    @Test
    void mooncakeBadLinesAreNamed(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("t.jsonl");
        Files.writeString(bad, "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [1, 2]}\n"
                + "{\"timestamp\": 5, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [1]}\n");
        assertThatThrownBy(() -> MooncakeDataset.read(bad, 0, 10)).hasMessageContaining("line 2").hasMessageContaining("needs 2 hash_ids");
        Files.writeString(bad, "not json\n");
        assertThatThrownBy(() -> MooncakeDataset.read(bad, 0, 10)).hasMessageContaining("line 1: not JSON");
        assertThatThrownBy(() -> Datasets.load(DatasetOptions.defaults("mooncake"), tok)).hasMessageContaining("--dataset-path");
        assertThatThrownBy(() -> Datasets.load(DatasetOptions.defaults("nope"), tok)).hasMessageContaining("unknown dataset");
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
