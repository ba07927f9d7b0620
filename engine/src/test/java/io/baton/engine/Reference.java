package io.baton.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

/** llama.cpp's reference outputs ({@code ../shared/reference}, schema llama-ref/1; see its README). */
public record Reference(String file, String modelFile, JsonNode root) {

    public record Prompt(String id, String text, int[] tokens, float[][] top10Logits, int[][] top10Ids, float[] lastLogits,
                         int[] generated, float[] margins, String error) {
    }

    public static Reference load(Path p) {
        try {
            JsonNode n = new ObjectMapper().readTree(p.toFile());
            String modelFile = n.has("expanded_from") ? n.get("expanded_from").get("model_file").asText() : n.get("model_file").asText();
            return new Reference(p.getFileName().toString(), modelFile, n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every reference file, both flavours. */
    public static List<Reference> all() {
        try (Stream<Path> s = Files.list(Fixtures.shared().resolve("reference"))) {
            return s.filter(p -> p.toString().endsWith(".json") && !p.getFileName().toString().startsWith("prompts"))
                    .sorted().map(Reference::load).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public boolean expanded() {
        return root.has("expanded_from");
    }

    public List<Prompt> prompts() {
        List<Prompt> out = new ArrayList<>();
        for (JsonNode p : root.get("prompts")) {
            if (p.has("error")) {
                out.add(new Prompt(p.get("id").asText(), p.get("text").asText(), null, null, null, null, null, null, p.get("error").asText()));
                continue;
            }
            int[] tokens = ints(p.get("tokens"));
            JsonNode top = p.get("top10");
            float[][] tl = new float[top.size()][];
            int[][] ti = new int[top.size()][];
            for (int i = 0; i < top.size(); i++) {
                tl[i] = new float[top.get(i).size()];
                ti[i] = new int[top.get(i).size()];
                for (int j = 0; j < top.get(i).size(); j++) {
                    ti[i][j] = top.get(i).get(j).get(0).asInt();
                    tl[i][j] = (float) top.get(i).get(j).get(1).asDouble();
                }
            }
            float[] last = null;
            if (p.get("last_logits").has("b64")) {
                ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(p.get("last_logits").get("b64").asText())).order(ByteOrder.LITTLE_ENDIAN);
                last = new float[b.remaining() / 4];
                b.asFloatBuffer().get(last);
            }
            JsonNode g = p.get("generated");
            float[] margins = new float[g.get("top1_margin").size()];
            for (int i = 0; i < margins.length; i++) margins[i] = (float) g.get("top1_margin").get(i).asDouble();
            out.add(new Prompt(p.get("id").asText(), p.get("text").asText(), tokens, tl, ti, last, ints(g.get("tokens")), margins, null));
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }
}
