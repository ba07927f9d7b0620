package io.baton.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import io.baton.engine.gguf.GgufFile;
import jinjava.javax.el.CompositeELResolver;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on.
 *
 * <p>Templates are Jinja2, written for HF transformers' {@code apply_chat_template}. They are rendered here by Jinjava
 * set up as transformers sets up Jinja2: {@code trim_blocks} and {@code lstrip_blocks} on, one trailing newline of the
 * template dropped, the variables {@code messages} (a list of {@code {role, content}} maps),
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token}, the globals {@code raise_exception} and
 * {@code strftime_now}, and HF's {@code tojson}. Where Jinjava's dialect differs, {@link TemplateSource},
 * {@link PythonMethods} and {@link HfTemplateLibrary} bridge it (stepped slices, keyword arguments, Python string
 * methods). Known differences that remain: Jinjava prints {@code none}/{@code true} as "" and "true" where Python
 * prints "None"/"True", and it treats a variable set to none as undefined.
 *
 * <p>Errors are never silent: a syntax error fails the constructor; an error while rendering, an unsupported filter
 * or test, or the template's own {@code raise_exception(...)} fails {@link #render} with a {@link ChatTemplateException}
 * carrying one line that names the cause. Rendering is thread-safe: each call gets its own interpreter.
 *
 * <p>The rendered text starts with the BOS token when the template prints {@code bos_token} (Llama 3 does, Qwen does
 * not): tokenize it with special tokens recognised and without adding another BOS.
 */
public final class ChatTemplate {
    /** The GGUF metadata key holding the default template (llama.cpp's LLM_KV_TOKENIZER_CHAT_TEMPLATE). */
    public static final String GGUF_KEY = "tokenizer.chat_template";
    /** Upper bound on one rendered prompt, in chars: far above any context window, low enough to stop a runaway loop. */
    public static final long MAX_OUTPUT_CHARS = 64L << 20;
    /** Variables that {@link #render} sets itself and that extra variables may not replace. */
    public static final Set<String> RESERVED_VARIABLES = Set.of("messages", "add_generation_prompt", "bos_token", "eos_token");

    private final String template;
    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param template the Jinja2 template text
     * @param bosToken text of the BOS token, or null if the model has none ({@code bos_token} is then undefined)
     * @param eosToken text of the EOS token, or null
     * @throws ChatTemplateException if the template does not parse
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Clock.systemDefaultZone());
    }

    /** As {@link #ChatTemplate(String, String, String)}, with the clock that {@code strftime_now} reads. */
    public ChatTemplate(String template, String bosToken, String eosToken, Clock clock) {
        this.template = Objects.requireNonNull(template, "template");
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        TemplateSource.Normalized normalized = TemplateSource.normalize(template);
        this.source = normalized.source();
        this.jinjava = new Jinjava(config(clock));
        HfTemplateLibrary.install(jinjava, normalized.filters(), normalized.tests());
        checkSyntax();
    }

    /**
     * The template stored in a GGUF file ({@value #GGUF_KEY}), with the texts of its BOS and EOS tokens
     * ({@code tokenizer.ggml.bos_token_id} / {@code eos_token_id} looked up in {@code tokenizer.ggml.tokens}).
     *
     * @return empty when the file has no chat template (base models, many SentencePiece vocabularies); chat requests
     *         for such a model must then be refused by the caller
     * @throws ChatTemplateException if the template does not parse, or a special token id is out of the vocabulary
     */
    public static Optional<ChatTemplate> fromGguf(GgufFile gguf) {
        return fromGguf(gguf, Clock.systemDefaultZone());
    }

    public static Optional<ChatTemplate> fromGguf(GgufFile gguf, Clock clock) {
        if (!gguf.has(GGUF_KEY)) return Optional.empty();
        String template = gguf.getString(GGUF_KEY);
        String[] tokens = gguf.has("tokenizer.ggml.tokens") ? gguf.getStringArray("tokenizer.ggml.tokens") : new String[0];
        return Optional.of(new ChatTemplate(template,
                tokenText(gguf, tokens, "tokenizer.ggml.bos_token_id"),
                tokenText(gguf, tokens, "tokenizer.ggml.eos_token_id"), clock));
    }

    private static String tokenText(GgufFile gguf, String[] tokens, String key) {
        if (!gguf.has(key)) return null;
        long id = gguf.getLong(key);
        if (id < 0 || id >= tokens.length) {
            throw new ChatTemplateException(key + " = " + id + " is outside the vocabulary of " + tokens.length + " tokens in " + gguf.path());
        }
        return tokens[(int) id];
    }

    /** Renders a conversation; see {@link #render(List, boolean, Map)}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation into prompt text.
     *
     * @param messages            at least one message
     * @param addGenerationPrompt end with the header that opens the assistant's reply
     * @param variables           further template variables, as HF's {@code template_kwargs}: e.g. Qwen3's
     *                            {@code enable_thinking}, Llama 3.1's {@code date_string}, or {@code tools} (a list
     *                            of JSON-like maps). Values are strings, numbers, booleans, lists and maps.
     * @throws ChatTemplateException    if rendering fails or the template rejects the conversation
     * @throws IllegalArgumentException if there are no messages or a variable is reserved
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        if (messages == null || messages.isEmpty()) throw new IllegalArgumentException("a chat needs at least one message");
        Map<String, Object> context = new HashMap<>();
        for (Map.Entry<String, ?> v : variables.entrySet()) {
            if (RESERVED_VARIABLES.contains(v.getKey())) {
                throw new IllegalArgumentException("template variable '" + v.getKey() + "' is set by the renderer and cannot be passed");
            }
            context.put(v.getKey(), v.getValue());
        }
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) context.put("bos_token", bosToken);
        if (eosToken != null) context.put("eos_token", eosToken);
        // The functions are registered with Jinjava; these entries make `strftime_now is defined` true, as in HF.
        for (String fn : HfTemplateLibrary.GLOBAL_FUNCTIONS) context.putIfAbsent(fn, "<function " + fn + ">");

        RenderResult result;
        try {
            result = jinjava.renderForResult(source, context);
        } catch (RuntimeException e) {
            throw failure(e, null);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) throw failure(error.getException(), error);
        }
        return result.getOutput();
    }

    /** The template text as given (before the rewrites of {@link TemplateSource}). */
    public String template() {
        return template;
    }

    /** The BOS token's text, or null. */
    public String bosToken() {
        return bosToken;
    }

    /** The EOS token's text, or null. */
    public String eosToken() {
        return eosToken;
    }

    private static JinjavaConfig config(Clock clock) {
        // Jinja2 semantics where Jinjava keeps legacy behaviour behind a switch: operator precedence (filters bind
        // tighter than arithmetic), strict {%- -%} parsing, backslash escapes only inside string literals, Python-like
        // printing of lists and dicts, dict keys as expressions, iterating a dict gives its keys.
        LegacyOverrides jinja2 = LegacyOverrides.newBuilder()
                .withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true)
                .withHandleBackslashInQuotesOnly(true)
                .withUsePyishObjectMapper(true)
                .withEvaluateMapKeys(true)
                .withIterateOverMapKeys(true)
                .withAllowAdjacentTextNodes(true)
                .withUseTrimmingForNotesAndExpressions(true)
                .withKeepNullableLoopValues(true)
                .build();
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(true) // TemplateSource already dropped the source's trailing newline
                .withLegacyOverrides(jinja2)
                .withElResolver(resolver)
                .withDateTimeProvider(clock::millis)
                .withTimeZone(clock.getZone())
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .build();
    }

    private void checkSyntax() {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            current.value().parse(source);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("chat template does not parse: " + oneLine(e.getMessage()), e);
        }
        for (TemplateError error : interpreter.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template does not parse: line " + error.getLineno() + ": " + oneLine(error.getMessage()));
            }
        }
    }

    /** The exception for a failed render: the template's own raise_exception message, ours, or Jinjava's. */
    private static ChatTemplateException failure(Throwable cause, TemplateError error) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof HfTemplateLibrary.TemplateRaised raised) {
                return new ChatTemplateException("chat template rejected the conversation: " + oneLine(raised.getMessage()), raised);
            }
            if (t instanceof ChatTemplateException ours) return new ChatTemplateException(ours.getMessage(), ours);
        }
        String where = error == null ? "" : "line " + error.getLineno() + ": ";
        String what = error != null ? error.getMessage() : cause.getMessage();
        return new ChatTemplateException("chat template failed: " + where + oneLine(what), cause);
    }

    private static String oneLine(String s) {
        return s == null ? "(no message)" : s.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
