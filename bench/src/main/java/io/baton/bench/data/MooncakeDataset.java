package io.baton.bench.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.baton.bench.tokens.PromptTokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Mooncake trace (JSONL, as released with Mooncake's FAST'25 paper): per line {@code timestamp} (ms),
 * {@code input_length}, {@code output_length}, and {@code hash_ids}, one id per {@value #TRACE_BLOCK}-token block of
 * the prompt; a shared id means a shared block and everything before it.
 *
 * <p>Prompts are synthesised so that prefix caching behaves as in the trace: the text of block id {@code h} depends
 * only on {@code h} (and the seed), so requests sharing ids share those blocks' text exactly. The last block is
 * usually partial: it is the first tokens of that id's full block, so a shared last id is shared text too.
 *
 * <p>Scaling: {@code lengthScale} shrinks every block to {@code round(512 * lengthScale)} tokens (at least 1) and the
 * partial last block in proportion, keeping the sharing structure; {@code outputScale} scales output lengths; the
 * time scale is applied by the arrival process. A slice is {@code count} lines from line {@code start} (0-based).
 */
public final class MooncakeDataset {
    public static final int TRACE_BLOCK = 512;
    private static final int CACHED_BLOCKS = 4096;

    private MooncakeDataset() {}

    /** One trace line. */
    public record TraceLine(long timestampMs, int inputLength, int outputLength, int[] hashIds) {}

    public static List<BenchRequest> load(Path file, TextSynth synth, int start, int count, double lengthScale,
                                          double outputScale, long seed) throws IOException {
        if (lengthScale <= 0 || outputScale <= 0) throw new IllegalArgumentException("--mooncake-length-scale and --mooncake-output-scale must be > 0");
        if (start < 0 || count < 1) throw new IllegalArgumentException("mooncake slice needs --mooncake-start >= 0 and --num-prompts >= 1");
        List<TraceLine> lines = read(file, start, count);
        if (lines.isEmpty()) throw new IllegalArgumentException(file + ": no trace line at or after line " + start);
        int block = Math.max(1, (int) Math.round(TRACE_BLOCK * lengthScale));
        Blocks blocks = new Blocks(synth, block, seed);
        long t0 = lines.getFirst().timestampMs();
        List<BenchRequest> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            TraceLine l = lines.get(i);
            int[] ids = l.hashIds();
            int lastTrace = l.inputLength() - TRACE_BLOCK * (ids.length - 1);
            int last = Math.clamp(Math.round(lastTrace * lengthScale), 1, block);
            int inputTokens = (ids.length - 1) * block + last;
            int outputTokens = Math.max(1, (int) Math.round(l.outputLength() * outputScale));
            int lastLen = last;
            out.add(new BenchRequest(i, () -> blocks.prompt(ids, lastLen), inputTokens, outputTokens,
                    (l.timestampMs() - t0) / 1000.0));
        }
        return out;
    }

    /** Reads lines {@code start .. start + count - 1}, checking each against the format. */
    public static List<TraceLine> read(Path file, int start, int count) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<TraceLine> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file)) {
            String line;
            for (int no = 0; (line = r.readLine()) != null && out.size() < count; no++) {
                if (no < start || line.isBlank()) continue;
                JsonNode n;
                try {
                    n = json.readTree(line);
                } catch (IOException e) {
                    throw new IllegalArgumentException(file + " line " + (no + 1) + ": not JSON");
                }
                if (!n.path("timestamp").isNumber() || !n.path("input_length").isInt() || !n.path("output_length").isInt()
                        || !n.path("hash_ids").isArray()) {
                    throw new IllegalArgumentException(file + " line " + (no + 1) + ": needs timestamp, input_length, output_length, hash_ids");
                }
                int[] ids = new int[n.get("hash_ids").size()];
                for (int k = 0; k < ids.length; k++) ids[k] = n.get("hash_ids").get(k).asInt();
                int in = n.get("input_length").asInt();
                if (in < 1 || ids.length != (in + TRACE_BLOCK - 1) / TRACE_BLOCK) {
                    throw new IllegalArgumentException(file + " line " + (no + 1) + ": input_length " + in + " needs "
                            + ((in + TRACE_BLOCK - 1) / TRACE_BLOCK) + " hash_ids, has " + ids.length);
                }
                out.add(new TraceLine(n.get("timestamp").asLong(), in, Math.max(1, n.get("output_length").asInt()), ids));
            }
        }
        return out;
    }

    /** Block texts by hash id, made on demand; a small LRU keeps hot prefixes (all prompts are made on one thread). */
    static final class Blocks {
        private final TextSynth synth;
        private final int block;
        private final long seed;
        private final Map<Integer, int[]> cache = new LinkedHashMap<>(CACHED_BLOCKS, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, int[]> e) {
                return size() > CACHED_BLOCKS;
            }
        };

        Blocks(TextSynth synth, int block, long seed) {
            this.synth = synth;
            this.block = block;
            this.seed = seed;
        }

        int[] ids(int hashId) {
            return cache.computeIfAbsent(hashId, h -> synth.ids(block, TextSynth.seed(seed, h)));
        }

        String prompt(int[] hashIds, int lastLen) {
            PromptTokenizer tok = synth.tokenizer();
            StringBuilder sb = new StringBuilder(hashIds.length * block * 5);
            for (int k = 0; k < hashIds.length; k++) {
                int[] ids = ids(hashIds[k]);
                sb.append(tok.decode(k == hashIds.length - 1 ? Arrays.copyOf(ids, lastLen) : ids));
            }
            return sb.toString();
        }
    }
}
