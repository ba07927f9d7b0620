package io.baton.bench.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * OpenAI request bodies. Output length is pinned with the length field(s) and, with {@code --ignore-eos}, vLLM's
 * {@code ignore_eos} extension (also read by SGLang and llama.cpp); usage is asked for in the stream
 * ({@code stream_options.include_usage}) so output tokens are counted by the server, not assumed. Chat requests
 * carry both {@code max_completion_tokens} (the current OpenAI name, what vLLM's bench sends) and {@code max_tokens}
 * (what older servers read).
 */
public final class RequestBodies {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Endpoint endpoint;
    private final String model;
    private final boolean ignoreEos;
    private final Double temperature;
    private final ObjectNode extra;

    /** @param extraBody a JSON object merged into every body ({@code --extra-body}), or null */
    public RequestBodies(Endpoint endpoint, String model, boolean ignoreEos, Double temperature, String extraBody) {
        this.endpoint = endpoint;
        this.model = model;
        this.ignoreEos = ignoreEos;
        this.temperature = temperature;
        if (extraBody == null || extraBody.isBlank()) {
            this.extra = null;
        } else {
            try {
                JsonNode n = JSON.readTree(extraBody);
                if (!n.isObject()) throw new IllegalArgumentException("--extra-body must be a JSON object");
                this.extra = (ObjectNode) n;
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("--extra-body is not JSON: " + e.getOriginalMessage());
            }
        }
    }

    public byte[] body(String prompt, int maxTokens) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        if (endpoint == Endpoint.CHAT) {
            b.putArray("messages").addObject().put("role", "user").put("content", prompt);
            b.put("max_completion_tokens", maxTokens);
        } else {
            b.put("prompt", prompt);
        }
        b.put("max_tokens", maxTokens);
        b.put("stream", true);
        b.putObject("stream_options").put("include_usage", true);
        if (ignoreEos) b.put("ignore_eos", true);
        if (temperature != null) b.put("temperature", temperature);
        if (extra != null) b.setAll(extra);
        try {
            return JSON.writeValueAsBytes(b);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
