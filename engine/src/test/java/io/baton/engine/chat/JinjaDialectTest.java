package io.baton.engine.chat;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.baton.engine.chat.ChatMessage.assistant;
import static io.baton.engine.chat.ChatMessage.system;
import static io.baton.engine.chat.ChatMessage.user;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jinja2 behaviours that chat templates rely on and that Jinjava needs help with. Each expected string is what Python's
 * Jinja2, set up as HF transformers sets it up, prints for the same template and variables.
 */
class JinjaDialectTest {
    static final List<ChatMessage> CHAT = List.of(system("s1"), user("u1"), assistant("a1"));

    static String render(String template, Map<String, ?> variables) {
        return new ChatTemplate(template, "<s>", "</s>", ChatTemplateTest.CLOCK).render(CHAT, true, variables);
    }

    static String render(String template) {
        return render(template, Map.of());
    }

    static Map<String, Object> sample() {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("a", List.of(1, 2.5, "é\n\"\t\u0001"));
        x.put("b", Map.of());
        x.put("c", List.of());
        x.put("d", null);
        x.put("e", true);
        x.put("f", 1e-05);
        x.put("g", 1e16);
        x.put("h", 123456789.125);
        Map<String, Object> z = new LinkedHashMap<>();
        z.put("y", 1);
        z.put("x", List.of(Map.of("k", 0.1)));
        x.put("z", z);
        return Map.of("x", x);
    }

    @Test
    void tojsonAsPythonJsonDumps() {
        assertThat(render("{{ x | tojson }}", sample())).isEqualTo(
                "{\"a\": [1, 2.5, \"é\\n\\\"\\t\\u0001\"], \"b\": {}, \"c\": [], \"d\": null, \"e\": true, \"f\": 1e-05, "
                + "\"g\": 1e+16, \"h\": 123456789.125, \"z\": {\"y\": 1, \"x\": [{\"k\": 0.1}]}}");
        assertThat(render("{{ x | tojson(indent=2, sort_keys=true) }}", sample())).isEqualTo(
                "{\n  \"a\": [\n    1,\n    2.5,\n    \"é\\n\\\"\\t\\u0001\"\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": null,\n"
                + "  \"e\": true,\n  \"f\": 1e-05,\n  \"g\": 1e+16,\n  \"h\": 123456789.125,\n"
                + "  \"z\": {\n    \"x\": [\n      {\n        \"k\": 0.1\n      }\n    ],\n    \"y\": 1\n  }\n}");
        assertThat(render("{{ x | tojson(separators=(',', ':')) }}", sample())).isEqualTo(
                "{\"a\":[1,2.5,\"é\\n\\\"\\t\\u0001\"],\"b\":{},\"c\":[],\"d\":null,\"e\":true,\"f\":1e-05,"
                + "\"g\":1e+16,\"h\":123456789.125,\"z\":{\"y\":1,\"x\":[{\"k\":0.1}]}}");
        assertThat(render("{{ x.a | tojson(ensure_ascii=true) }}", sample())).isEqualTo("[1, 2.5, \"\\u00e9\\n\\\"\\t\\u0001\"]");
    }

    @Test
    void floatsPrintAsPythonRepr() {
        assertThat(PythonJson.floatRepr(1.0)).isEqualTo("1.0");
        assertThat(PythonJson.floatRepr(-0.0)).isEqualTo("-0.0");
        assertThat(PythonJson.floatRepr(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.floatRepr(1e-4)).isEqualTo("0.0001");
        assertThat(PythonJson.floatRepr(1e-5)).isEqualTo("1e-05");
        assertThat(PythonJson.floatRepr(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(PythonJson.floatRepr(1e15)).isEqualTo("1000000000000000.0");
        assertThat(PythonJson.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.floatRepr(1.2345e20)).isEqualTo("1.2345e+20");
        assertThat(PythonJson.floatRepr(123456789.125)).isEqualTo("123456789.125");
        assertThat(PythonJson.floatRepr(1.0 / 3)).isEqualTo("0.3333333333333333");
        assertThat(PythonJson.floatRepr(Double.NaN)).isEqualTo("NaN");
        assertThat(PythonJson.floatRepr(Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
    }

    @Test
    void steppedSlicesAndIndexing() {
        assertThat(render("{{ messages[::-1]|map(attribute='role')|join(',') }}")).isEqualTo("assistant,user,system");
        assertThat(render("{{ 'abcdef'[::2] }}|{{ 'abcdef'[-2::-1] }}|{{ 'abcdef'[1:5:2] }}|{{ 'ab🎉cd'[::-1] }}"))
                .isEqualTo("ace|edcba|bd|dc🎉ba");
        assertThat(render("{{ [1,2,3,4,5][::-2]|join(',') }}|{{ [1,2,3,4,5][3:0:-1]|join(',') }}|{{ [1,2,3,4,5][-10:10:3]|join(',') }}"))
                .isEqualTo("5,3,1|4,3,2|1,4");
        assertThat(render("{{ 'abc'[0] }}{{ 'abc'[-1] }}{{ 'abc'[5] }}|")).isEqualTo("ac|");
        assertThat(render("{{ messages[1:]|length }} {{ messages[:-1]|map(attribute='role')|join(',') }} {{ 'abcd'[1:3] }}"))
                .isEqualTo("2 system,user bc");
    }

    @Test
    void namespaceKeywordArgumentsTakeWholeExpressions() {
        assertThat(render("{% set ns = namespace(a=messages|length - 1, b='x' + 'y', c=[1,2]) %}{% set ns.b = ns.b + '!' %}"
                + "{{ ns.a }} {{ ns.b }} {{ ns.c|length }}")).isEqualTo("2 xy! 2");
        assertThat(render("{% macro f(a, b='d') %}[{{ a }}{{ b }}]{% endmacro %}{{ f('x') }}{{ f('x', b='y') }}"))
                .isEqualTo("[xd][xy]");
    }

    @Test
    void pythonStringMethods() {
        assertThat(render("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n a'.lstrip() }}|{{ 'a \\n'.rstrip() }}|{{ 'a\\n\\n'.rstrip('\\n') }}"))
                .isEqualTo("a b|a|a|a|a");
        assertThat(render("{{ 'a,b,,c'.split(',')|join('|') }}/{{ ' a  b c '.split()|join('|') }}/{{ 'a,b,c'.split(',', 1)|join('|') }}/"
                + "{{ '  a b  c  '.split(none, 1)|join('|') }}/{{ 'a,b,c'.rsplit(',', 1)|join('|') }}/{{ '  a b  c  '.rsplit(none, 1)|join('|') }}"))
                .isEqualTo("a|b||c/a|b|c/a|b,c/a|b  c  /a,b|c/  a b|c");
        assertThat(render("{% if 'hello'.startswith('he') and 'hello'.startswith(('x','h')) and 'hello'.endswith('lo') "
                + "and not 'hello'.endswith('x') %}ok{% endif %}")).isEqualTo("ok");
        assertThat(render("{{ 'hello world'.upper() }} {{ 'HeLLo'.lower() }} {{ 'hello wORLD 3rd'.title() }} {{ 'hELLO'.capitalize() }}"))
                .isEqualTo("HELLO WORLD hello Hello World 3Rd Hello");
        assertThat(render("{{ 'aaa'.replace('a','b') }} {{ 'aaa'.replace('a','b',2) }} {{ 'abc'.replace('','-') }} {{ 'abc'.find('c') }} "
                + "{{ 'abc'.find('z') }} {{ 'abab'.count('ab') }} {{ '-'.join(['a','b']) }}"))
                .isEqualTo("bbb bba -a-b-c- 2 -1 2 a-b");
        assertThat(render("{{ messages[0].get('role') }} {{ messages[0].get('nope', 'dflt') }}")).isEqualTo("system dflt");
    }

    @Test
    void notBindsLooserThanTestsAndComparisons() {
        assertThat(render("{% if not messages[0].role == 'user' %}A{% endif %}{% if not x is defined %}B{% endif %}"
                + "{% if not nothing is defined %}C{% endif %}{% if not true and false %}D{% endif %}{{ 'x' if not false else 'y' }}",
                Map.of("x", 1))).isEqualTo("ACx");
        assertThat(render("{% if not (messages|length > 5 or false) %}A{% endif %}"
                + "{% if x is not none and not messages[5] is defined %}B{% endif %}{% if 'a' not in 'abc' %}C{% endif %}",
                Map.of("x", 1))).isEqualTo("AB");
        assertThat(render("{%- if not messages[0]['role'] == 'user' -%}\n  notuser\n{%- endif -%}")).isEqualTo("notuser");
    }

    @Test
    void whitespaceControlAsTrimAndLstripBlocks() {
        assertThat(render("a\n  {% if true %}\n    b\n  {% endif %}\nc\n")).isEqualTo("a\n    b\nc");
        assertThat(render("a\n  {%- if true %}\n    b\n  {%- endif %}\nc")).isEqualTo("a    bc");
        assertThat(render("{# comment #}\n  {# indented comment #}\nx\n")).isEqualTo("x");
        assertThat(render("{%- for m in messages -%}\n  [{{ m.role }}]\n{%- endfor -%}\n")).isEqualTo("[system][user][assistant]");
        assertThat(render("{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n")).isEqualTo("  system\n  user\n  assistant\n");
        // An output newline at the very end is kept; only the template source's last newline goes.
        assertThat(render("{{ 'x\\n' }}")).isEqualTo("x\n");
    }

    @Test
    void rawBlocksStringsAndDictsAreLeftAlone() {
        assertThat(render("{% raw %}{{ not [::-1] rendered }}{% endraw %}\n")).isEqualTo("{{ not [::-1] rendered }}");
        assertThat(render("{{ '[::-1] not x, a=b-1' }}")).isEqualTo("[::-1] not x, a=b-1");
        assertThat(render("{{ {'a': {'b': 1}}.a.b }}|{% set d = {'x': {'y': 2}} %}{{ d.x.y }}")).isEqualTo("1|2");
    }

    @Test
    void loopControlsItemsAndTests() {
        assertThat(render("{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.role }}"
                + "{% if m.role == 'user' %}{% break %}{% endif %}{% endfor %}")).isEqualTo("user");
        assertThat(render("{% set d = {'k': 'v', 'n': 1} %}{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}"))
                .isEqualTo("k=v;n=1;");
        assertThat(render("{% if messages[0].content is string %}s{% endif %}{% if messages is iterable %}i{% endif %}"
                + "{% if messages[0] is mapping %}m{% endif %}")).isEqualTo("sim");
        assertThat(render("{{ messages|rejectattr('role','equalto','system')|map(attribute='content')|join(',') }}")).isEqualTo("u1,a1");
    }

    @Test
    void strftimeNowUsesTheClockAndIsDefined() {
        assertThat(render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %I%p %y') }}|{{ strftime_now('%-d') }}"))
                .isEqualTo("07 Mar 2025|2025-03-07 14:05:09 Friday March 066 02PM 25|7");
        assertThat(render("{% if strftime_now is defined %}yes{% endif %}{% if raise_exception is defined %}yes{% endif %}"
                + "{% if nothing is defined %}no{% endif %}")).isEqualTo("yesyes");
    }

    @Test
    void sourceRewrites() {
        assertThat(TemplateSource.rewrite(" messages[::-1] ", true)).isEqualTo(" messages.py_slice(none, none, -1) ");
        assertThat(TemplateSource.rewrite(" x[1:n - 1:2][0] ", true)).isEqualTo(" x.py_slice(1, n - 1, 2)[0] ");
        assertThat(TemplateSource.rewrite(" namespace(a=x|length - 1, b={'k': 1, 'j': 2}) ", true))
                .isEqualTo(" namespace(a=(x|length - 1), b={'k': 1, 'j': 2}) ");
        assertThat(TemplateSource.rewrite(" f(a == b) ", true)).isEqualTo(" f(a == b) ");
        assertThat(TemplateSource.rewrite(" if not a is defined and b is not none and c not in d ", true))
                .isEqualTo(" if not (a is defined) and b is not none and c not in d ");
        assertThat(TemplateSource.normalize("{%- if not x -%}\n").source()).isEqualTo("{%- if not (x) -%}");
        TemplateSource.Normalized n = TemplateSource.normalize("{{ a | trim | tojson(indent=2) }}{% if b is not divisibleby(3) %}{% endif %}");
        assertThat(n.filters()).containsExactlyInAnyOrder("trim", "tojson");
        assertThat(n.tests()).containsExactly("divisibleby");
    }
}
