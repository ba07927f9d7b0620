package io.baton.engine.chat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, byte for byte, for the values a template sees. HF transformers renders the {@code tojson}
 * filter as {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}, and
 * the model was trained on that spelling: {@code ", "} and {@code ": "} between items (no spaces lost), floats as
 * Python's {@code repr} ({@code 1.0}, {@code 1e-05}), non-ASCII kept as is.
 *
 * <p>Rules from CPython's {@code json/encoder.py}: item separator {@code ", "} without indent and {@code ","} with
 * one; empty containers print as {@code []} and {@code {}}; dict keys that are numbers, booleans or none become strings;
 * other types are "not JSON serializable".
 */
final class PythonJson {
    /** json.dumps' options; {@code indent} is null (one line) or the text of one indentation level. */
    record Options(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        static Options of(boolean ensureAscii, Object indent, List<?> separators, boolean sortKeys) {
            String ind = switch (indent) {
                case null -> null;
                case Number n -> " ".repeat(Math.max(0, n.intValue()));
                case String s -> s;
                default -> throw new ChatTemplateException("tojson: indent must be an integer or a string, got " + PythonMethods.typeName(indent));
            };
            String item = ind == null ? ", " : ",", key = ": ";
            if (separators != null) {
                if (separators.size() != 2 || !(separators.get(0) instanceof String a) || !(separators.get(1) instanceof String b)) {
                    throw new ChatTemplateException("tojson: separators must be a pair of strings");
                }
                item = a;
                key = b;
            }
            return new Options(ensureAscii, ind, item, key, sortKeys);
        }
    }

    private final Options options;
    private final StringBuilder out = new StringBuilder();

    private PythonJson(Options options) {
        this.options = options;
    }

    static String dumps(Object value, Options options) {
        PythonJson json = new PythonJson(options);
        json.write(value, 0);
        return json.out.toString();
    }

    private void write(Object value, int level) {
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case String s -> string(s);
            case CharSequence s -> string(s.toString()); // Jinjava's SafeString
            case Integer _, Long _, Short _, Byte _, BigInteger _ -> out.append(value);
            case Number n -> out.append(floatRepr(n.doubleValue()));
            case Map<?, ?> m -> object(m, level);
            case Map.Entry<?, ?> e -> array(Arrays.asList(e.getKey(), e.getValue()), level); // a Python tuple
            case List<?> l -> array(l, level);
            case Object[] a -> array(Arrays.asList(a), level);
            default -> throw new ChatTemplateException("tojson: object of type " + PythonMethods.typeName(value) + " is not JSON serializable");
        }
    }

    private void array(Collection<?> items, int level) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        for (Object item : items) {
            if (!first) out.append(options.itemSeparator());
            newline(level + 1);
            write(item, level + 1);
            first = false;
        }
        newline(level);
        out.append(']');
    }

    private void object(Map<?, ?> map, int level) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<String, Object>> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) entries.add(new AbstractMap.SimpleEntry<>(key(e.getKey()), e.getValue()));
        if (options.sortKeys()) entries.sort(Map.Entry.comparingByKey());
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, Object> e : entries) {
            if (!first) out.append(options.itemSeparator());
            newline(level + 1);
            string(e.getKey());
            out.append(options.keySeparator());
            write(e.getValue(), level + 1);
            first = false;
        }
        newline(level);
        out.append('}');
    }

    private static String key(Object k) {
        return switch (k) {
            case String s -> s;
            case CharSequence s -> s.toString();
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Integer _, Long _, Short _, Byte _, BigInteger _ -> k.toString();
            case Number n -> floatRepr(n.doubleValue());
            default -> throw new ChatTemplateException("tojson: keys must be str, int, float, bool or None, not " + PythonMethods.typeName(k));
        };
    }

    private void newline(int level) {
        if (options.indent() == null) return;
        out.append('\n');
        out.append(options.indent().repeat(level));
    }

    /** A JSON string as CPython's encoder writes it (py_encode_basestring / py_encode_basestring_ascii). */
    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (options.ensureAscii() && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c)); // UTF-16 units: a surrogate pair gives two escapes, as Python
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that round-trip (Java's {@code Double.toString} finds the same
     * digits since JDK 19), written in positional notation when the decimal exponent is in [-4, 16), else as
     * {@code 1e-05} / {@code 1.5e+16} (CPython's float_repr_style 'short').
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = exact.unscaledValue().toString();
        int decimalPoint = digits.length() - exact.scale(); // value = 0.<digits> * 10^decimalPoint
        StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
        if (decimalPoint > -4 && decimalPoint <= 16) {
            if (decimalPoint <= 0) {
                sb.append("0.").append("0".repeat(-decimalPoint)).append(digits);
            } else if (decimalPoint >= digits.length()) {
                sb.append(digits).append("0".repeat(decimalPoint - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, decimalPoint).append('.').append(digits, decimalPoint, digits.length());
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
            int exponent = decimalPoint - 1;
            sb.append('e').append(exponent < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exponent));
            sb.append(e.length() < 2 ? "0" + e : e);
        }
        return sb.toString();
    }
}
