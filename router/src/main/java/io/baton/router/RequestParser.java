package io.baton.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import io.baton.engine.chat.ChatMessage;
import io.baton.engine.sampling.Logprobs;
import io.baton.engine.sampling.SamplingParams;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads and validates the body of {@code POST /v1/chat/completions} and {@code POST /v1/completions} (OpenAI API
 * reference, "Chat" and "Completions (legacy)"). Every type or range error is a 400 naming the parameter; parameters
 * Baton cannot honour (several choices, tools, echo) are refused with 400 rather than ignored, so a client
 * never gets an answer to a question it did not ask. Unknown parameters are ignored, as OpenAI-compatible servers do.
 */
public final class RequestParser {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Parameter names that SamplingParams' messages start with: its errors are reported under them. */
    private static final Set<String> SAMPLING_PARAMS = Set.of("temperature", "top_k", "top_p", "min_p", "seed",
            "repetition_penalty", "frequency_penalty", "presence_penalty", "max_tokens", "stop");

    /** The legacy completions API's bound on {@code logprobs} (OpenAI's API reference: "The maximum value is 5"). */
    public static final int MAX_LEGACY_LOGPROBS = 5;

    private RequestParser() {}

    public static ParsedRequest parse(byte[] body, boolean chat) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "Request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest(null, "Request body could not be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) throw ApiException.badRequest(null, "Request body must be a JSON object.");

        String model = string(root, "model");
        if (model == null) throw ApiException.badRequest("model", "'model' is required.");

        List<ChatMessage> messages = null;
        String prompt = null;
        int[] promptTokens = null;
        if (chat) {
            messages = messages(root);
        } else {
            JsonNode p = present(root, "prompt");
            if (p == null) throw ApiException.badRequest("prompt", "'prompt' is required.");
            if (p.isTextual()) {
                prompt = p.textValue();
            } else if (p.isArray() && !p.isEmpty() && p.get(0).isTextual()) {
                if (p.size() != 1) throw ApiException.unsupported("prompt", "Only one prompt per request is supported, got " + p.size() + ".");
                prompt = p.get(0).textValue();
            } else if (p.isArray() && !p.isEmpty() && p.get(0).isArray()) {
                if (p.size() != 1) throw ApiException.unsupported("prompt", "Only one prompt per request is supported, got " + p.size() + ".");
                promptTokens = tokenIds(p.get(0));
            } else if (p.isArray() && !p.isEmpty()) {
                promptTokens = tokenIds(p);
            } else {
                throw ApiException.badRequest("prompt", "'prompt' must be a string, an array of one string, or an array of token ids.");
            }
        }

        unsupported(root, chat);

        Integer maxTokens = integer(root, "max_tokens");
        if (chat) {
            Integer mct = integer(root, "max_completion_tokens");
            if (mct != null) maxTokens = mct; // the newer name wins, as in vLLM
        }
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.badRequest(chat && present(root, "max_completion_tokens") != null ? "max_completion_tokens" : "max_tokens",
                    "max_tokens must be at least 1, got " + maxTokens + ".");
        }

        SamplingParams.Builder b = SamplingParams.builder();
        Double v;
        if ((v = number(root, "temperature")) != null) b.temperature(v.floatValue());
        if ((v = number(root, "top_p")) != null) b.topP(v.floatValue());
        if ((v = number(root, "min_p")) != null) b.minP(v.floatValue());
        if ((v = number(root, "presence_penalty")) != null) b.presencePenalty(v.floatValue());
        if ((v = number(root, "frequency_penalty")) != null) b.frequencyPenalty(v.floatValue());
        if ((v = number(root, "repetition_penalty")) != null) b.repetitionPenalty(v.floatValue());
        Integer topK = integer(root, "top_k");
        if (topK != null) b.topK(topK);
        Long seed = longValue(root, "seed");
        if (seed != null) {
            if (seed < 0) throw ApiException.badRequest("seed", "seed must be >= 0, got " + seed + ".");
            b.seed(seed);
        }
        Boolean ignoreEos = bool(root, "ignore_eos");
        if (ignoreEos != null) b.ignoreEos(ignoreEos);
        b.stop(stop(root));
        logprobs(root, chat, b);
        if (maxTokens != null) b.maxTokens(maxTokens);
        SamplingParams params;
        try {
            params = b.build();
        } catch (IllegalArgumentException e) {
            String first = e.getMessage().split(" ", 2)[0];
            throw ApiException.badRequest(SAMPLING_PARAMS.contains(first) ? first : null, e.getMessage());
        }

        boolean stream = Boolean.TRUE.equals(bool(root, "stream"));
        boolean includeUsage = false;
        JsonNode so = present(root, "stream_options");
        if (so != null) {
            if (!so.isObject()) throw ApiException.badRequest("stream_options", "'stream_options' must be an object.");
            if (!stream) throw ApiException.badRequest("stream_options", "'stream_options' is only allowed when 'stream' is true.");
            includeUsage = Boolean.TRUE.equals(bool(so, "include_usage"));
        }
        return new ParsedRequest(chat, model, messages, prompt, promptTokens, params, maxTokens, stream, includeUsage);
    }

    private static List<ChatMessage> messages(JsonNode root) {
        JsonNode ms = present(root, "messages");
        if (ms == null) throw ApiException.badRequest("messages", "'messages' is required.");
        if (!ms.isArray() || ms.isEmpty()) throw ApiException.badRequest("messages", "'messages' must be a non-empty array.");
        List<ChatMessage> out = new ArrayList<>(ms.size());
        for (int i = 0; i < ms.size(); i++) {
            JsonNode m = ms.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badRequest(at, at + " must be an object.");
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) throw ApiException.badRequest(at + ".role", at + ".role must be a string.");
            String r = switch (role.textValue()) {
                case "system", "developer" -> "system"; // OpenAI's newer name for system instructions
                case "user" -> "user";
                case "assistant" -> "assistant";
                case "tool", "function" -> throw ApiException.unsupported(at + ".role", "Tool messages are not supported.");
                default -> throw ApiException.badRequest(at + ".role", "Unknown role '" + role.textValue() + "' (expected system, developer, user or assistant).");
            };
            if (m.hasNonNull("tool_calls") && !m.get("tool_calls").isEmpty()) {
                throw ApiException.unsupported(at + ".tool_calls", "Tool calls are not supported.");
            }
            out.add(new ChatMessage(r, content(m.get("content"), at + ".content")));
        }
        return out;
    }

    /** A string, or an array of {"type": "text", "text": ...} parts (concatenated). */
    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.textValue();
        if (!c.isArray()) throw ApiException.badRequest(at, at + " must be a string or an array of text parts.");
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : c) {
            JsonNode type = part.get("type");
            if (type == null || !"text".equals(type.asText())) {
                throw ApiException.unsupported(at, "Only text content parts are supported, got " + (type == null ? "a part without type" : "'" + type.asText() + "'") + ".");
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) throw ApiException.badRequest(at, "A text part needs a string 'text'.");
            sb.append(text.textValue());
        }
        return sb.toString();
    }

    private static int[] tokenIds(JsonNode a) {
        if (a.isEmpty()) throw ApiException.badRequest("prompt", "The token-id prompt is empty.");
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = a.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0) {
                throw ApiException.badRequest("prompt", "prompt[" + i + "] must be a token id (an integer >= 0), got " + t + ".");
            }
            ids[i] = t.intValue();
        }
        return ids;
    }

    private static List<String> stop(JsonNode root) {
        JsonNode s = present(root, "stop");
        if (s == null) return List.of();
        if (s.isTextual()) return List.of(s.textValue());
        if (!s.isArray()) throw ApiException.badRequest("stop", "'stop' must be a string or an array of strings.");
        List<String> out = new ArrayList<>(s.size());
        for (JsonNode e : s) {
            if (!e.isTextual()) throw ApiException.badRequest("stop", "'stop' must be a string or an array of strings.");
            out.add(e.textValue());
        }
        return out;
    }

    /**
     * Log-probabilities. Chat: {@code logprobs} (boolean) and {@code top_logprobs} (0 to 20, only with
     * {@code logprobs: true}, as OpenAI). Legacy completions: {@code logprobs}, an integer 0 to
     * {@link #MAX_LEGACY_LOGPROBS} that asks for the chosen token's log-probability and that many of the most likely
     * tokens.
     */
    private static void logprobs(JsonNode root, boolean chat, SamplingParams.Builder b) {
        if (chat) {
            Boolean lp = bool(root, "logprobs");
            Integer top = integer(root, "top_logprobs");
            if (top != null) {
                if (top < 0 || top > Logprobs.MAX_TOP_LOGPROBS) {
                    throw ApiException.badRequest("top_logprobs", "top_logprobs must be in [0, " + Logprobs.MAX_TOP_LOGPROBS + "], got " + top + ".");
                }
                if (!Boolean.TRUE.equals(lp)) throw ApiException.badRequest("top_logprobs", "top_logprobs needs logprobs to be true.");
            }
            if (Boolean.TRUE.equals(lp)) b.logprobs(true).topLogprobs(top == null ? 0 : top);
        } else {
            Integer lp = integer(root, "logprobs");
            if (lp != null) {
                if (lp < 0 || lp > MAX_LEGACY_LOGPROBS) {
                    throw ApiException.badRequest("logprobs", "logprobs must be in [0, " + MAX_LEGACY_LOGPROBS + "], got " + lp + ".");
                }
                b.logprobs(true).topLogprobs(lp);
            }
        }
    }

    /** Parameters whose meaning Baton does not implement: refused, never silently dropped. */
    private static void unsupported(JsonNode root, boolean chat) {
        Integer n = integer(root, "n");
        if (n != null && n != 1) throw ApiException.unsupported("n", "Only n = 1 is supported, got " + n + ".");
        Integer bestOf = integer(root, "best_of");
        if (bestOf != null && bestOf != 1) throw ApiException.unsupported("best_of", "Only best_of = 1 is supported, got " + bestOf + ".");
        if (chat) {
            JsonNode tools = present(root, "tools");
            if (tools != null && !(tools.isArray() && tools.isEmpty())) throw ApiException.unsupported("tools", "Tools are not supported.");
            if (present(root, "functions") != null) throw ApiException.unsupported("functions", "Functions are not supported.");
            JsonNode rf = present(root, "response_format");
            if (rf != null && !(rf.isObject() && "text".equals(rf.path("type").asText()))) {
                throw ApiException.unsupported("response_format", "Only response_format {\"type\": \"text\"} is supported.");
            }
        } else {
            if (Boolean.TRUE.equals(bool(root, "echo"))) throw ApiException.unsupported("echo", "echo is not supported.");
            String suffix = string(root, "suffix");
            if (suffix != null && !suffix.isEmpty()) throw ApiException.unsupported("suffix", "suffix is not supported.");
        }
        JsonNode bias = present(root, "logit_bias");
        if (bias != null && !(bias.isObject() && bias.isEmpty())) throw ApiException.unsupported("logit_bias", "logit_bias is not supported.");
    }

    // ---- typed accessors: absent or null → null; a wrong type → 400 naming the parameter ----

    private static JsonNode present(JsonNode o, String name) {
        JsonNode n = o.get(name);
        return n == null || n.isNull() ? null : n;
    }

    private static String string(JsonNode o, String name) {
        JsonNode n = present(o, name);
        if (n == null) return null;
        if (!n.isTextual()) throw wrongType(name, "a string", n);
        return n.textValue();
    }

    private static Boolean bool(JsonNode o, String name) {
        JsonNode n = present(o, name);
        if (n == null) return null;
        if (!n.isBoolean()) throw wrongType(name, "a boolean", n);
        return n.booleanValue();
    }

    private static Double number(JsonNode o, String name) {
        JsonNode n = present(o, name);
        if (n == null) return null;
        if (!n.isNumber()) throw wrongType(name, "a number", n);
        return n.doubleValue();
    }

    private static Long longValue(JsonNode o, String name) {
        JsonNode n = present(o, name);
        if (n == null) return null;
        if (n.isIntegralNumber() && n.canConvertToLong()) return n.longValue();
        // 5.0 is accepted as 5 (JSON has one number type; some clients write integers as floats).
        if (n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 9e15) {
            return (long) n.doubleValue();
        }
        throw wrongType(name, "an integer", n);
    }

    private static Integer integer(JsonNode o, String name) {
        Long v = longValue(o, name);
        if (v == null) return null;
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw ApiException.badRequest(name, "'" + name + "' is out of range: " + v + ".");
        return v.intValue();
    }

    private static ApiException wrongType(String name, String expected, JsonNode got) {
        return ApiException.badRequest(name, "'" + name + "' must be " + expected + ", got " + describe(got) + ".");
    }

    private static String describe(JsonNode n) {
        JsonNodeType t = n.getNodeType();
        return switch (t) {
            case STRING -> "a string";
            case NUMBER -> "the number " + n;
            case BOOLEAN -> n.booleanValue() ? "true" : "false";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> t.name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
