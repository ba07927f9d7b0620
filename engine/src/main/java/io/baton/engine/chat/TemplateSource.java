package io.baton.engine.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites a Jinja2 template so that Jinjava reads it as Python's Jinja2 does, and lists the filters and tests it uses.
 *
 * <p>Jinjava's parser differs from Jinja2 in ways that real chat templates hit. Each is fixed by a source rewrite that
 * keeps the meaning; text outside tags, comments, raw blocks and string literals is never touched.
 * <ol>
 *   <li>Slices with a step ({@code messages[::-1]}, Qwen3) do not parse. {@code x[a:b:c]} becomes the method call
 *       {@code x.py_slice(a, b, c)} (missing parts become {@code none}), which {@link PythonMethods} evaluates with
 *       Python's slice rules. A method call is a postfix operator like the subscript, so precedence is unchanged.</li>
 *   <li>A keyword argument's value stops at the first {@code +} or {@code -}: Jinjava parses
 *       {@code namespace(n=messages|length - 1)} as {@code (n=messages|length) - 1}. Keyword values are wrapped in
 *       parentheses: {@code n=(messages|length - 1)}. Values holding a comma are left alone, because Jinjava would read
 *       {@code (a, b)} as a tuple; macro and call signatures are left alone too.</li>
 *   <li>{@code not} binds tighter than tests and comparisons in Jinjava, looser in Jinja2: Llama 3.1's
 *       {@code not tools is defined} must mean {@code not (tools is defined)}. The operand of a unary {@code not} is
 *       parenthesized.</li>
 *   <li>Jinjava ends an expression at the first pair of closing braces, also inside a nested dict literal; a space is
 *       put between two closing braces.</li>
 *   <li>Jinja2 drops one trailing newline of the template source ({@code keep_trailing_newline=False}) and reads
 *       {@code \r\n} as {@code \n}; Jinjava can only drop one of the output, which loses a newline the template
 *       printed on purpose. The source's is removed here and Jinjava is told to keep the output's.</li>
 * </ol>
 * Filter and test names are collected so that the caller can make unknown ones fail loudly: Jinjava renders an
 * unknown filter as an empty string without any error.
 */
final class TemplateSource {
    /** What {@link #normalize} returns: the rewritten source and the filter and test names found in it. */
    record Normalized(String source, Set<String> filters, Set<String> tests) {}

    private static final Pattern KEYWORD_ARGUMENT = Pattern.compile("^(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*=)(?!=)(.*)$", Pattern.DOTALL);
    private static final Pattern RAW_START = Pattern.compile("\\{%[-+]?\\s*raw\\s*[-+]?%}");
    private static final Pattern RAW_END = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");
    private static final Pattern SIGNATURE_TAG = Pattern.compile("^[-+]?\\s*(macro|call)\\b");

    private final String text;
    private final Set<String> filters = new TreeSet<>();
    private final Set<String> tests = new TreeSet<>();

    private TemplateSource(String text) {
        this.text = text;
    }

    static Normalized normalize(String template) {
        String text = template.replace("\r\n", "\n");
        if (text.endsWith("\n")) text = text.substring(0, text.length() - 1);
        TemplateSource s = new TemplateSource(text);
        String out = s.rewriteTemplate();
        return new Normalized(out, Set.copyOf(s.filters), Set.copyOf(s.tests));
    }

    /** Walks the template: copies text, comments and raw blocks as they are, rewrites the body of every tag. */
    private String rewriteTemplate() {
        StringBuilder out = new StringBuilder(text.length() + 64);
        int i = 0;
        while (i < text.length()) {
            int open = text.indexOf('{', i);
            if (open < 0 || open + 1 >= text.length()) {
                out.append(text, i, text.length());
                break;
            }
            char kind = text.charAt(open + 1);
            if (kind != '{' && kind != '%' && kind != '#') {
                out.append(text, i, open + 1);
                i = open + 1;
                continue;
            }
            out.append(text, i, open);
            if (kind == '#') {
                int end = text.indexOf("#}", open + 2);
                int stop = end < 0 ? text.length() : end + 2;
                out.append(text, open, stop);
                i = stop;
                continue;
            }
            Matcher raw = RAW_START.matcher(text).region(open, text.length());
            if (kind == '%' && raw.lookingAt()) {
                Matcher rawEnd = RAW_END.matcher(text);
                int stop = rawEnd.find(raw.end()) ? rawEnd.end() : text.length();
                out.append(text, open, stop);
                i = stop;
                continue;
            }
            String close = kind == '{' ? "}}" : "%}";
            int end = findTagEnd(open + 2, close);
            if (end < 0) { // unterminated: leave it for Jinjava to report
                out.append(text, open, text.length());
                break;
            }
            // Whitespace-control marks touch the delimiters ({%- ... -%}); keep them out of the expression.
            String body = text.substring(open + 2, end);
            String lead = body.startsWith("-") || body.startsWith("+") ? body.substring(0, 1) : "";
            String trail = body.length() > lead.length() && (body.endsWith("-") || body.endsWith("+")) ? body.substring(body.length() - 1) : "";
            String expr = body.substring(lead.length(), body.length() - trail.length());
            boolean signature = kind == '%' && SIGNATURE_TAG.matcher(expr.stripLeading()).find();
            collectNames(expr);
            String rewritten = separateClosingBraces(rewrite(expr, !signature));
            out.append('{').append(kind).append(lead).append(rewritten).append(trail).append(close);
            i = end + 2;
        }
        return out.toString();
    }

    /**
     * The index of the tag's closing delimiter, skipping string literals and, as Jinja2's lexer does, braces of dict
     * literals ({@code {{ {'a': {'b': 1}} }}}); -1 if there is none.
     */
    private int findTagEnd(int from, String close) {
        int i = from, braces = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(text, i);
                continue;
            }
            if (braces == 0 && text.startsWith(close, i)) return i;
            if (c == '{') braces++;
            else if (c == '}' && braces > 0) braces--;
            i++;
        }
        return -1;
    }

    /** Rewrites stepped slices, keyword argument values and {@code not} inside one tag body (see the class comment). */
    static String rewrite(String expr, boolean keywordValues) {
        StringBuilder out = new StringBuilder(expr.length() + 16);
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (isWordStart(expr, i)) {
                int end = wordEnd(expr, i);
                String word = expr.substring(i, end);
                if (word.equals("not") && !endsWithWord(out, "is") && !nextWordIs(expr, end, "in")) {
                    int stop = notOperandEnd(expr, end);
                    String operand = expr.substring(end, stop);
                    if (!operand.isBlank()) {
                        String rest = operand.substring(operand.stripTrailing().length());
                        out.append("not (").append(rewrite(operand.strip(), keywordValues)).append(')').append(rest);
                        i = stop;
                        continue;
                    }
                }
                out.append(word);
                i = end;
            } else if (c == '\'' || c == '"') {
                int end = skipString(expr, i);
                out.append(expr, i, end);
                i = end;
            } else if (c == '[' || c == '(') {
                int end = matchingClose(expr, i);
                if (end < 0) { // unbalanced: leave the rest for Jinjava to report
                    out.append(expr, i, expr.length());
                    break;
                }
                String inner = expr.substring(i + 1, end);
                out.append(c == '[' ? rewriteBrackets(inner, keywordValues) : rewriteParentheses(inner, keywordValues));
                i = end + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private static String rewriteBrackets(String inner, boolean keywordValues) {
        List<String> parts = splitTopLevel(inner, ':');
        if (parts.size() != 3) return "[" + rewrite(inner, keywordValues) + "]";
        StringBuilder call = new StringBuilder(".py_slice(");
        for (int p = 0; p < 3; p++) {
            String part = parts.get(p).strip();
            if (p > 0) call.append(", ");
            call.append(part.isEmpty() ? "none" : rewrite(part, keywordValues));
        }
        return call.append(')').toString();
    }

    private static String rewriteParentheses(String inner, boolean keywordValues) {
        List<String> args = splitTopLevel(inner, ',');
        StringBuilder out = new StringBuilder("(");
        for (int a = 0; a < args.size(); a++) {
            if (a > 0) out.append(',');
            String arg = args.get(a);
            Matcher m = KEYWORD_ARGUMENT.matcher(arg);
            if (keywordValues && m.matches() && !m.group(2).isBlank() && !containsOutsideStrings(m.group(2), ',')) {
                String value = m.group(2);
                String lead = value.substring(0, value.length() - value.stripLeading().length());
                out.append(m.group(1)).append(lead).append('(').append(rewrite(value.strip(), true)).append(')');
            } else {
                out.append(rewrite(arg, keywordValues));
            }
        }
        return out.append(')').toString();
    }

    /**
     * Where the operand of a unary {@code not} ends. In Jinja2 {@code not} binds looser than comparisons, tests and
     * filters ({@code not x is defined} is {@code not (x is defined)}), in Jinjava tighter; the operand is therefore
     * parenthesized. It runs to the next {@code and}, {@code or}, {@code if}, {@code else}, comma, colon or unmatched
     * closing bracket.
     */
    private static int notOperandEnd(String s, int from) {
        int depth = 0, i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
                continue;
            }
            if (isWordStart(s, i)) {
                int end = wordEnd(s, i);
                if (depth == 0 && Set.of("and", "or", "if", "else").contains(s.substring(i, end))) return i;
                i = end;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (--depth < 0) return i;
            } else if (depth == 0 && (c == ',' || c == ':')) return i;
            i++;
        }
        return i;
    }

    private static boolean isWordStart(String s, int i) {
        char c = s.charAt(i);
        if (!(Character.isLetter(c) || c == '_')) return false;
        if (i == 0) return true;
        char p = s.charAt(i - 1);
        return !(Character.isLetterOrDigit(p) || p == '_' || p == '.');
    }

    private static int wordEnd(String s, int i) {
        while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) i++;
        return i;
    }

    private static boolean endsWithWord(CharSequence out, String word) {
        String tail = out.toString().stripTrailing();
        if (!tail.endsWith(word)) return false;
        int before = tail.length() - word.length() - 1;
        return before < 0 || !(Character.isLetterOrDigit(tail.charAt(before)) || tail.charAt(before) == '_');
    }

    private static boolean nextWordIs(String s, int from, String word) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        return i < s.length() && isWordStart(s, i) && s.substring(i, wordEnd(s, i)).equals(word);
    }

    /**
     * Jinjava ends an expression at the first pair of closing braces even inside a dict literal; Jinja2 balances
     * braces. A space between two closing braces (outside strings) means the same and keeps Jinjava's scanner in step.
     */
    private static String separateClosingBraces(String expr) {
        StringBuilder out = new StringBuilder(expr.length());
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(expr, i);
                out.append(expr, i, end);
                i = end;
                continue;
            }
            out.append(c);
            if (c == '}' && i + 1 < expr.length() && expr.charAt(i + 1) == '}') out.append(' ');
            i++;
        }
        return out.toString();
    }

    /** Splits at separators that are outside strings and outside nested (), [] and {}. */
    private static List<String> splitTopLevel(String s, char separator) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0, i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
                continue;
            }
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
            else if (c == separator && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
            i++;
        }
        parts.add(s.substring(start));
        return parts;
    }

    private static boolean containsOutsideStrings(String s, char wanted) {
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
            } else {
                if (c == wanted) return true;
                i++;
            }
        }
        return false;
    }

    /** The index of the bracket closing the one at {@code open}, or -1. */
    private static int matchingClose(String s, int open) {
        int depth = 0, i = open;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
                continue;
            }
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) return i;
            }
            i++;
        }
        return -1;
    }

    /** The index just past the string literal starting at {@code quote} (backslash escapes honoured). */
    private static int skipString(String s, int quote) {
        char q = s.charAt(quote);
        int i = quote + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\\') i += 2;
            else if (c == q) return i + 1;
            else i++;
        }
        return s.length();
    }

    /** Records the names after {@code |} (filters) and after {@code is} / {@code is not} (tests). */
    private void collectNames(String body) {
        List<String> tokens = tokens(body);
        for (int t = 0; t + 1 < tokens.size(); t++) {
            String tok = tokens.get(t);
            if (tok.equals("|") && isIdentifier(tokens.get(t + 1))) {
                filters.add(tokens.get(t + 1));
            } else if (tok.equals("is")) {
                int n = t + 1;
                if (tokens.get(n).equals("not") && n + 1 < tokens.size()) n++;
                if (isIdentifier(tokens.get(n))) tests.add(tokens.get(n));
            }
        }
    }

    /** Identifiers and single punctuation characters of an expression; string literals are dropped. */
    private static List<String> tokens(String s) {
        List<String> tokens = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
                tokens.add("\"\"");
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) i++;
                tokens.add(s.substring(start, i));
            } else if (Character.isWhitespace(c)) {
                i++;
            } else {
                tokens.add(String.valueOf(c));
                i++;
            }
        }
        return tokens;
    }

    private static boolean isIdentifier(String token) {
        char c = token.charAt(0);
        return Character.isLetter(c) || c == '_';
    }
}
