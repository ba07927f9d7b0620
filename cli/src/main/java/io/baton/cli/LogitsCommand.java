package io.baton.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.baton.engine.Model;
import io.baton.engine.Sequence;
import io.baton.engine.model.ModelConfig;
import io.baton.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;

/**
 * {@code baton logits}: what the engine computes for a list of prompts, in the schema of llama.cpp's reference files
 * ({@code ../shared/reference/README.md}, {@code llama-ref/1}): prompt tokens (BOS as the metadata says, special-token
 * text parsed), top-10 logits at every prompt position, the full last-position logits, and a greedy continuation.
 */
@Command(name = "logits", mixinStandardHelpOptions = true, description = "Write prompt tokens, top-10 logits and greedy continuations as llama-ref/1 JSON.")
final class LogitsCommand implements Callable<Integer> {
    /** Made on first use, not when picocli instantiates every command at startup (Jackson loads ~0.25 s of classes). */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--prompts", required = true, paramLabel = "FILE.json", description = "A JSON array of prompt strings.")
    Path prompts;

    @Option(names = "--out", required = true, paramLabel = "FILE.json", description = "Where to write the result.")
    Path out;

    @Option(names = "--n-predict", paramLabel = "N", defaultValue = "32", description = "Greedy tokens to generate per prompt (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--threads", paramLabel = "N", description = "Engine threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws IOException {
        if (nPredict < 0) throw new IllegalArgumentException("--n-predict must be >= 0, got " + nPredict);
        JsonNode input;
        try {
            input = Json.MAPPER.readTree(Files.readAllBytes(prompts));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("prompts file not found: " + prompts);
        } catch (IOException e) {
            throw new IllegalArgumentException("prompts file " + prompts + " is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (input == null || !input.isArray()) throw new IllegalArgumentException("prompts file " + prompts + " must hold a JSON array of strings");
        for (JsonNode p : input) {
            if (!p.isTextual()) throw new IllegalArgumentException("prompts file " + prompts + ": every element must be a string, found " + p.getNodeType());
        }
        try (Model m = Model.load(model, threads)) {
            ModelConfig c = m.config();
            Tokenizer tok = m.tokenizer();
            ObjectNode root = Json.MAPPER.createObjectNode();
            root.put("schema", "llama-ref/1");
            root.put("model", model.getFileName().toString().replaceFirst("\\.gguf$", ""));
            root.put("model_file", model.getFileName().toString());
            ObjectNode info = root.putObject("model_info");
            info.put("architecture", c.architecture().ggufName);
            info.put("n_embd", c.dim());
            info.put("n_layer", c.layers());
            info.put("n_head", c.heads());
            info.put("n_ctx_train", c.contextLength());
            ObjectNode vocab = root.putObject("vocab");
            vocab.put("n_vocab", c.vocabSize());
            vocab.put("bos", tok.bos());
            vocab.put("eos", tok.eos());
            vocab.put("add_bos", tok.addBos());
            vocab.put("add_eos", tok.addEos());
            ObjectNode settings = root.putObject("settings");
            settings.put("engine", "baton");
            settings.put("activations", "float32");
            settings.put("type_k", "f32");
            settings.put("type_v", "f32");
            settings.put("n_predict", nPredict);
            settings.put("sampling", "greedy argmax over raw logits, ties -> lowest id");
            ArrayNode arr = root.putArray("prompts");
            int i = 0;
            for (JsonNode p : input) arr.add(prompt(m, "prompt_" + i++, p.asText()));
            Files.write(out, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        }
        return 0;
    }

    private ObjectNode prompt(Model m, String id, String text) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", id);
        o.put("text", text);
        int[] tokens = m.tokenizer().encode(text, true, true);
        int ctx = m.config().contextLength();
        if (tokens.length == 0) {
            o.put("error", "prompt has no tokens");
            return o;
        }
        if (tokens.length + nPredict > ctx) {
            o.put("error", "prompt of " + tokens.length + " tokens plus " + nPredict + " to predict exceeds the context length of " + ctx + " tokens");
            return o;
        }
        int vocab = m.config().vocabSize();
        o.put("n_tokens", tokens.length);
        ArrayNode ta = o.putArray("tokens");
        for (int t : tokens) ta.add(t);
        try (Sequence seq = m.newSequence(tokens.length + Math.max(1, nPredict))) {
            float[] logits = seq.forward(tokens, true);
            ArrayNode top = o.putArray("top10");
            for (int pos = 0; pos < tokens.length; pos++) top.add(top10(logits, pos * vocab, vocab));
            float[] last = java.util.Arrays.copyOfRange(logits, (tokens.length - 1) * vocab, tokens.length * vocab);
            ObjectNode ll = o.putObject("last_logits");
            ll.put("dtype", "float32");
            ll.put("byteorder", "little");
            ll.put("n", vocab);
            ll.put("argmax", argmax(last));
            ByteBuffer b = ByteBuffer.allocate(4 * vocab).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(last);
            ll.put("b64", Base64.getEncoder().encodeToString(b.array()));

            ObjectNode gen = o.putObject("generated");
            ArrayNode gt = Json.MAPPER.createArrayNode(), pieces = Json.MAPPER.createArrayNode(), margins = Json.MAPPER.createArrayNode(), gtop = Json.MAPPER.createArrayNode();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            boolean eog = false;
            float[] step = last;
            for (int k = 0; k < nPredict && !eog; k++) {
                int next = argmax(step);
                margins.add(margin(step));
                gtop.add(top10(step, 0, vocab));
                gt.add(next);
                byte[] piece = m.tokenizer().tokenBytes(next);
                bytes.writeBytes(piece);
                pieces.add(Base64.getEncoder().encodeToString(piece));
                eog = m.tokenizer().isEndOfGeneration(next);
                if (!eog && k + 1 < nPredict) step = seq.forward(new int[] {next}, false);
            }
            gen.put("n", gt.size());
            gen.put("stopped_at_eog", eog);
            gen.set("tokens", gt);
            byte[] all = bytes.toByteArray();
            gen.put("text", new String(all, StandardCharsets.UTF_8));
            gen.put("text_b64", Base64.getEncoder().encodeToString(all));
            int[] ids = new int[gt.size()];
            for (int k = 0; k < ids.length; k++) ids[k] = gt.get(k).asInt();
            String detok = m.tokenizer().decode(ids);
            gen.put("detokenized", detok);
            gen.put("detokenized_b64", Base64.getEncoder().encodeToString(detok.getBytes(StandardCharsets.UTF_8)));
            gen.set("pieces_b64", pieces);
            gen.set("top1_margin", margins);
            gen.set("top10", gtop);
        }
        return o;
    }

    /** The 10 largest logits, logit descending, ties by id ascending (as the reference files). */
    static ArrayNode top10(float[] logits, int off, int n) {
        int k = Math.min(10, n);
        int[] best = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (size == k && !(v > logits[off + best[k - 1]])) continue;
            int j = size < k ? size++ : k - 1;
            while (j > 0 && v > logits[off + best[j - 1]]) {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = i;
        }
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (int j = 0; j < size; j++) a.addArray().add(best[j]).add(logits[off + best[j]]);
        return a;
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    private static float margin(float[] a) {
        float first = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
        for (float v : a) {
            if (v > first) {
                second = first;
                first = v;
            } else if (v > second) {
                second = v;
            }
        }
        return first - second;
    }
}
