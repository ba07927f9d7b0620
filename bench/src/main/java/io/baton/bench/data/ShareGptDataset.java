package io.baton.bench.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * ShareGPT-format JSON: an array of conversations. The prompt is the first human turn; the output length is the
 * token length of the reply that follows it when the file has one (or of a top-level {@code response}), else
 * {@code fixedOutputLen}. Two layouts are read: {@code {"conversations": [{"from": "human", "value": ...}, ...]}} (ShareGPT
 * V3, as in {@code ../shared/data/sharegpt/ShareGPT_V3_filtered_500.json}) and {@code {"prompt": ..., "response": ...}}.
 *
 * <p>Selection follows vLLM's ShareGPTDataset: shuffle with the seed, skip entries whose prompt or output is shorter
 * than 4 tokens, or whose prompt is over 1024 tokens or prompt + output over 2048 (the output checks are skipped when
 * the output length is fixed), and repeat the selection when the file has fewer usable entries than asked for.
 */
public final class ShareGptDataset {
    static final int MIN_LEN = 4, MAX_PROMPT_LEN = 1024, MAX_TOTAL_LEN = 2048;
    private static final Set<String> HUMAN = Set.of("human", "user");
    private static final Set<String> ASSISTANT = Set.of("gpt", "assistant", "chatgpt", "bard", "bing", "model");

    private ShareGptDataset() {}

    /** A prompt and its reference answer (null when the file has none). */
    record Entry(String prompt, String reference) {}

    /**
     * @param fixedOutputLen output length for every request when positive ({@code --sharegpt-output-len}); else the
     *                       reference answer's length, or {@code defaultOutputLen} where there is no reference
     */
    public static List<BenchRequest> load(Path file, TextSynth synth, int numPrompts, int fixedOutputLen,
                                          int defaultOutputLen, long seed) throws IOException {
        List<Entry> entries = read(file);
        if (entries.isEmpty()) throw new IllegalArgumentException(file + ": no conversation with a human turn");
        Collections.shuffle(entries, new Random(seed));
        List<BenchRequest> picked = new ArrayList<>(numPrompts);
        for (Entry e : entries) {
            if (picked.size() == numPrompts) break;
            int in = synth.tokenizer().count(e.prompt());
            int out;
            boolean fixed = fixedOutputLen > 0 || e.reference() == null;
            if (fixedOutputLen > 0) out = fixedOutputLen;
            else if (e.reference() != null) out = synth.tokenizer().count(e.reference());
            else out = defaultOutputLen;
            if (in < MIN_LEN || in > MAX_PROMPT_LEN) continue;
            if (!fixed && (out < MIN_LEN || in + out > MAX_TOTAL_LEN)) continue;
            picked.add(BenchRequest.of(picked.size(), e.prompt(), in, out));
        }
        if (picked.isEmpty()) throw new IllegalArgumentException(file + ": no entry passes the length filter (prompt 4..1024 tokens)");
        for (int i = picked.size(), k = 0; i < numPrompts; i++, k++) {
            BenchRequest r = picked.get(k);
            picked.add(new BenchRequest(i, r.prompt(), r.inputTokens(), r.outputTokens(), Double.NaN));
        }
        return picked;
    }

    static List<Entry> read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Entry> out = new ArrayList<>();
        try (JsonParser p = json.createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_ARRAY) throw new IllegalArgumentException(file + ": expected a JSON array of conversations");
            while (p.nextToken() == JsonToken.START_OBJECT) {
                Entry e = entry(json.readTree(p));
                if (e != null) out.add(e);
            }
        }
        return out;
    }

    private static Entry entry(JsonNode n) {
        JsonNode turns = n.get("conversations");
        if (turns != null && turns.isArray()) {
            for (int i = 0; i < turns.size(); i++) {
                if (!HUMAN.contains(turns.get(i).path("from").asText()) || !turns.get(i).path("value").isTextual()) continue;
                String reference = null;
                if (i + 1 < turns.size() && ASSISTANT.contains(turns.get(i + 1).path("from").asText())) {
                    reference = turns.get(i + 1).path("value").asText();
                }
                if (reference == null && n.path("response").isTextual()) reference = n.get("response").asText();
                return new Entry(turns.get(i).get("value").asText(), reference);
            }
            return null;
        }
        if (n.path("prompt").isTextual()) {
            return new Entry(n.get("prompt").asText(), n.path("response").isTextual() ? n.get("response").asText() : null);
        }
        return null;
    }
}
