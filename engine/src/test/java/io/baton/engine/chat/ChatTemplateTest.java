package io.baton.engine.chat;

import io.baton.engine.Fixtures;
import io.baton.engine.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.baton.engine.chat.ChatMessage.assistant;
import static io.baton.engine.chat.ChatMessage.system;
import static io.baton.engine.chat.ChatMessage.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The real templates embedded in the fixture GGUFs, rendered to exact strings. Expected texts were derived by reading
 * each template (and agree with HF transformers' rendering through Python's Jinja2 with the same inputs).
 */
class ChatTemplateTest {
    /** 2025-03-07 14:05:09 UTC: what strftime_now sees. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-07T14:05:09Z"), ZoneOffset.UTC);

    static final List<ChatMessage> ONE_USER = List.of(user("Hello"));
    static final List<ChatMessage> FOUR_TURNS = List.of(system("S"), user("U1"), assistant("A1"), user("U2"));

    static ChatTemplate load(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            return ChatTemplate.fromGguf(f, CLOCK).orElseThrow();
        }
    }

    // ---- Qwen2.5 (ChatML with a default system prompt) ----

    static final String QWEN25_DEFAULT_SYSTEM =
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n";

    @Test
    void qwen25SingleUserGetsDefaultSystemPrompt() {
        for (Path p : List.of(Fixtures.model("qwen2-tiny-Q8_0.gguf"), Fixtures.shared().resolve("vocab/ggml-vocab-qwen2.5.gguf"))) {
            ChatTemplate t = load(p);
            assertThat(t.bosToken()).isEqualTo("<|endoftext|>");
            assertThat(t.eosToken()).isEqualTo("<|im_end|>");
            assertThat(t.render(ONE_USER, true)).isEqualTo(QWEN25_DEFAULT_SYSTEM
                    + "<|im_start|>user\nHello<|im_end|>\n"
                    + "<|im_start|>assistant\n");
            assertThat(t.render(ONE_USER, false)).isEqualTo(QWEN25_DEFAULT_SYSTEM
                    + "<|im_start|>user\nHello<|im_end|>\n");
        }
    }

    @Test
    void qwen25FourTurns() {
        ChatTemplate t = load(Fixtures.model("qwen2-tiny-Q8_0.gguf"));
        assertThat(t.render(FOUR_TURNS, true)).isEqualTo(
                "<|im_start|>system\nS<|im_end|>\n"
                + "<|im_start|>user\nU1<|im_end|>\n"
                + "<|im_start|>assistant\nA1<|im_end|>\n"
                + "<|im_start|>user\nU2<|im_end|>\n"
                + "<|im_start|>assistant\n");
        // Qwen keeps content as is: no trimming.
        assertThat(t.render(List.of(system(" S\n"), user(" U ")), false)).isEqualTo(
                "<|im_start|>system\n S\n<|im_end|>\n<|im_start|>user\n U <|im_end|>\n");
    }

    @Test
    void qwen25ToolsUseHfTojson() {
        ChatTemplate t = load(Fixtures.model("qwen2-tiny-Q8_0.gguf"));
        // A LinkedHashMap keeps the order a client sent, as a Python dict does.
        var params = new java.util.LinkedHashMap<String, Object>();
        params.put("type", "function");
        var fn = new java.util.LinkedHashMap<String, Object>();
        fn.put("name", "get_weather");
        fn.put("description", "Météo \"now\"");
        fn.put("parameters", Map.of("minimum", 0.5));
        params.put("function", fn);
        String out = t.render(List.of(user("Hi")), true, Map.of("tools", List.of(params)));
        assertThat(out).isEqualTo(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n"
                + "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Météo \\\"now\\\"\", \"parameters\": {\"minimum\": 0.5}}}\n"
                + "</tools>\n\nFor each function call, return a json object with function name and arguments within "
                + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
                + "</tool_call><|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    // ---- Llama 3.1 / 3.2 ----

    static final String LLAMA_SYSTEM_HEADER = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\n";

    @Test
    void llama31SingleUser() {
        ChatTemplate t = load(Fixtures.model("llama3-tiny-Q8_0.gguf"));
        assertThat(t.bosToken()).isEqualTo("<|begin_of_text|>");
        assertThat(t.eosToken()).isEqualTo("<|eot_id|>");
        // This template has no strftime_now branch: the date is the fixed default.
        assertThat(t.render(ONE_USER, true)).isEqualTo(LLAMA_SYSTEM_HEADER
                + "Today Date: 26 Jul 2024\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama31FourTurnsTrimsContent() {
        ChatTemplate t = load(Fixtures.model("llama3-tiny-Q8_0.gguf"));
        String expected = LLAMA_SYSTEM_HEADER
                + "Today Date: 26 Jul 2024\n\nS<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>";
        assertThat(t.render(FOUR_TURNS, true)).isEqualTo(expected + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(t.render(FOUR_TURNS, false)).isEqualTo(expected);
        // `'...' + message['content'] | trim + '...'`: the filter binds to the content only, as in Jinja2.
        List<ChatMessage> padded = List.of(system("  S \n"), user(" U1\n"), assistant("\nA1 "), user("U2 "));
        assertThat(t.render(padded, false)).isEqualTo(expected);
    }

    @Test
    void llama31VariablesAndBuiltinTools() {
        ChatTemplate t = load(Fixtures.model("llama3-tiny-Q8_0.gguf"));
        String out = t.render(ONE_USER, true, Map.of("date_string", "01 Jan 2025",
                "builtin_tools", List.of("brave_search", "wolfram_alpha", "code_interpreter")));
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Environment: ipython\nTools: brave_search, wolfram_alpha\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama31ToolsInFirstUserMessageWithIndentedJson() {
        ChatTemplate t = load(Fixtures.model("llama3-tiny-Q8_0.gguf"));
        var fn = new java.util.LinkedHashMap<String, Object>();
        fn.put("name", "f");
        fn.put("required", List.of("city"));
        fn.put("n", 1e16);
        String out = t.render(List.of(user("Q")), false, Map.of("tools", List.of(fn)));
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n"
                + "Given the following functions, please respond with a JSON for a function call with its proper "
                + "arguments that best answers the given prompt.\n\n"
                + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
                + "Do not use variables.\n\n"
                + "{\n    \"name\": \"f\",\n    \"required\": [\n        \"city\"\n    ],\n    \"n\": 1e+16\n}\n\n"
                + "Q<|eot_id|>");
    }

    @Test
    void llama32VocabTemplateReadsTheClock() {
        ChatTemplate t = load(Fixtures.shared().resolve("vocab/ggml-vocab-llama3.2-bpe.gguf"));
        assertThat(t.render(ONE_USER, true)).isEqualTo(LLAMA_SYSTEM_HEADER
                + "Today Date: 07 Mar 2025\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(t.render(FOUR_TURNS, true)).isEqualTo(LLAMA_SYSTEM_HEADER
                + "Today Date: 07 Mar 2025\n\nS<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    // ---- Qwen3 (no default system prompt; reasoning handling) ----

    @Test
    void qwen3SingleUserAndFourTurns() {
        ChatTemplate t = load(Fixtures.model("qwen3-tiny-Q8_0.gguf"));
        assertThat(t.render(ONE_USER, true)).isEqualTo("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(FOUR_TURNS, true)).isEqualTo(
                "<|im_start|>system\nS<|im_end|>\n"
                + "<|im_start|>user\nU1<|im_end|>\n"
                + "<|im_start|>assistant\nA1<|im_end|>\n"
                + "<|im_start|>user\nU2<|im_end|>\n"
                + "<|im_start|>assistant\n");
        assertThat(t.render(ONE_USER, true, Map.of("enable_thinking", false)))
                .isEqualTo("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    }

    @Test
    void qwen3DropsReasoningBeforeTheLastQueryAndKeepsItAfter() {
        ChatTemplate t = load(Fixtures.model("qwen3-tiny-Q8_0.gguf"));
        // Walks messages[::-1] with a namespace, splits on </think>, strips with lstrip/rstrip/strip('\n').
        List<ChatMessage> chat = List.of(user("Q"), assistant("<think>\nR1\n</think>\n\nA1"), user("Q2"),
                assistant("<think>R2</think>A2"));
        assertThat(t.render(chat, false)).isEqualTo(
                "<|im_start|>user\nQ<|im_end|>\n"
                + "<|im_start|>assistant\nA1<|im_end|>\n"
                + "<|im_start|>user\nQ2<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nR2\n</think>\n\nA2<|im_end|>\n");
        // A user message that is only a tool response does not count as the last query.
        List<ChatMessage> tool = List.of(user("Q"), assistant("<think>R</think>A"), user("<tool_response>x</tool_response>"));
        assertThat(t.render(tool, true)).isEqualTo(
                "<|im_start|>user\nQ<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nR\n</think>\n\nA<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void modelWithoutTemplateGivesEmpty() {
        try (GgufFile f = GgufFile.open(Fixtures.shared().resolve("vocab/ggml-vocab-llama-spm.gguf"))) {
            assertThat(ChatTemplate.fromGguf(f)).isEqualTo(Optional.empty());
        }
    }

    // ---- errors ----

    static final String GEMMA_LIKE = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{{ '<start_of_turn>' + message['role'] + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

    @Test
    void raiseExceptionFailsTheRenderWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate(GEMMA_LIKE, "<bos>", "<eos>");
        assertThat(t.render(List.of(user(" hi "), assistant("yo")), true))
                .isEqualTo("<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>assistant\nyo<end_of_turn>\n<start_of_turn>model\n");
        assertThatThrownBy(() -> t.render(List.of(user("a"), user("b")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("chat template rejected the conversation: Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void syntaxErrorFailsAtConstruction() {
        assertThatThrownBy(() -> new ChatTemplate("{% for m in messages %}{{ m.content }}", null, null))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageStartingWith("chat template does not parse: line 1:")
                .hasMessageContaining("endfor");
    }

    @Test
    void unsupportedFilterFailsLoudlyInsteadOfPrintingNothing() {
        ChatTemplate t = new ChatTemplate("{% if add_generation_prompt %}{{ messages | frobnicate }}{% endif %}ok", null, null);
        assertThat(t.render(ONE_USER, false)).isEqualTo("ok"); // the branch is not reached
        assertThatThrownBy(() -> t.render(ONE_USER, true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("the chat template uses the Jinja filter 'frobnicate', which Baton does not support");
    }

    @Test
    void badArgumentsAreClearErrors() {
        ChatTemplate t = load(Fixtures.model("qwen2-tiny-Q8_0.gguf"));
        assertThatThrownBy(() -> t.render(List.of(), true)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a chat needs at least one message");
        assertThatThrownBy(() -> t.render(ONE_USER, true, Map.of("messages", List.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("template variable 'messages' is set by the renderer and cannot be passed");
        assertThatThrownBy(() -> new ChatMessage("tool", "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("chat message role must be one of system, user, assistant; got 'tool'");
        assertThatThrownBy(() -> new ChatMessage(null, "x")).isInstanceOf(IllegalArgumentException.class);
    }
}
