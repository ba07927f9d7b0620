package io.baton.engine.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Gives Jinjava's values the Python methods that chat templates call: {@code str.strip/lstrip/rstrip/split/rsplit/
 * startswith/endswith/upper/lower/title/capitalize/replace/find/count/join}, {@code dict.get(key, default)}, indexing a
 * string ({@code s[0]}, {@code s[-1]}), and {@code py_slice}, the target of {@link TemplateSource}'s rewrite of
 * stepped slices, on strings and lists. Semantics follow Python 3's documentation of the built-in types; strings are
 * indexed by code point as in Python.
 *
 * <p>This resolver is consulted before Jinjava's own: a Java method of the same name ({@code String.split}, a regular
 * expression split) would otherwise be called with the wrong meaning. Bad arguments throw {@link ELException}, which
 * Jinjava records as a fatal template error (an {@code IllegalArgumentException} would be swallowed into a null).
 */
final class PythonMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(method instanceof String name)) return null;
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (base instanceof String s) {
            result = stringMethod(s, name, args);
        } else if (base instanceof List<?> list && name.equals("py_slice")) {
            result = slice(list, args);
        } else if (base instanceof Map<?, ?> map && name.equals("get") && args.length == 2) {
            result = map.containsKey(args[0]) ? map.get(args[0]) : args[1];
        } else {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    /** {@code s[i]}: the i-th code point, negative indices from the end; out of range is undefined, as in Jinja2. */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (!(base instanceof String s) || property == null) return null;
        Integer index = asIndex(property);
        if (index == null) return null;
        int[] cps = s.codePoints().toArray();
        int i = index < 0 ? index + cps.length : index;
        context.setPropertyResolved(true);
        return i < 0 || i >= cps.length ? null : new String(cps, i, 1);
    }

    private static Integer asIndex(Object property) {
        if (property instanceof Integer || property instanceof Long) return ((Number) property).intValue();
        if (property instanceof String p && p.matches("-?\\d{1,9}")) return Integer.parseInt(p);
        return null;
    }

    private static Object stringMethod(String s, String name, Object[] args) {
        return switch (name) {
            case "strip" -> strip(s, charsArg(name, args), true, true);
            case "lstrip" -> strip(s, charsArg(name, args), true, false);
            case "rstrip" -> strip(s, charsArg(name, args), false, true);
            case "split" -> split(s, sepArg(name, args), maxSplitArg(name, args));
            case "rsplit" -> rsplit(s, sepArg(name, args), maxSplitArg(name, args));
            case "startswith" -> affixes(name, args).stream().anyMatch(s::startsWith);
            case "endswith" -> affixes(name, args).stream().anyMatch(s::endsWith);
            case "upper" -> noArgs(name, args, s.toUpperCase(Locale.ROOT));
            case "lower" -> noArgs(name, args, s.toLowerCase(Locale.ROOT));
            case "title" -> noArgs(name, args, title(s));
            case "capitalize" -> noArgs(name, args, capitalize(s));
            case "replace" -> replace(s, args);
            case "find" -> find(s, stringArg(name, args, 0));
            case "count" -> count(s, stringArg(name, args, 0));
            case "join" -> join(s, args);
            case "py_slice" -> {
                int[] cps = s.codePoints().toArray();
                List<Integer> picked = sliceIndices(cps.length, args);
                StringBuilder sb = new StringBuilder();
                for (int i : picked) sb.appendCodePoint(cps[i]);
                yield sb.toString();
            }
            default -> null; // not a Python method we provide: let Jinjava's resolvers try
        };
    }

    // ---- str methods ----

    /** Python's str.isspace for one code point: Unicode white space plus the separators \x1c-\x1f and \x85. */
    static boolean isPythonSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0, end = s.length();
        while (left && start < end && stripped(s.codePointAt(start), chars)) start += Character.charCount(s.codePointAt(start));
        while (right && end > start && stripped(s.codePointBefore(end), chars)) end -= Character.charCount(s.codePointBefore(end));
        return s.substring(start, end);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isPythonSpace(cp) : chars.indexOf(cp) >= 0;
    }

    /** str.split(sep=None, maxsplit=-1). */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && isPythonSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                if (i >= n) break;
                if (maxSplit >= 0 && out.size() == maxSplit) { // the rest, trailing white space kept, as CPython
                    out.add(s.substring(i));
                    break;
                }
                int start = i;
                while (i < n && !isPythonSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                out.add(s.substring(start, i));
            }
            return out;
        }
        int start = 0;
        while (maxSplit < 0 || out.size() < maxSplit) {
            int at = s.indexOf(sep, start);
            if (at < 0) break;
            out.add(s.substring(start, at));
            start = at + sep.length();
        }
        out.add(s.substring(start));
        return out;
    }

    /** str.rsplit(sep=None, maxsplit=-1): as split, but the splits are counted from the right. */
    static List<String> rsplit(String s, String sep, int maxSplit) {
        if (maxSplit < 0) return split(s, sep, -1);
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int end = s.length();
            while (true) {
                while (end > 0 && isPythonSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
                if (end <= 0) break;
                if (out.size() == maxSplit) { // the rest, leading white space kept, as CPython
                    out.addFirst(s.substring(0, end));
                    break;
                }
                int stop = end;
                while (end > 0 && !isPythonSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
                out.addFirst(s.substring(end, stop));
            }
            return out;
        }
        int end = s.length();
        while (out.size() < maxSplit) {
            int at = s.lastIndexOf(sep, end - sep.length());
            if (at < 0) break;
            out.addFirst(s.substring(at + sep.length(), end));
            end = at;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            boolean cased = Character.isLetter(cp);
            sb.appendCodePoint(cased ? (previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp)) : cp);
            previousCased = cased;
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT)).toString();
    }

    private static String replace(String s, Object[] args) {
        if (args.length < 2 || args.length > 3) throw new ELException("str.replace takes 2 or 3 arguments, got " + args.length);
        String old = stringArg("replace", args, 0), replacement = stringArg("replace", args, 1);
        int count = args.length == 3 ? intArg("replace", args[2]) : -1;
        if (count < 0) return s.replace(old, replacement);
        StringBuilder sb = new StringBuilder();
        int start = 0, done = 0;
        while (done < count) {
            int at = old.isEmpty() ? (start <= s.length() ? start : -1) : s.indexOf(old, start);
            if (at < 0) break;
            sb.append(s, start, at).append(replacement);
            if (old.isEmpty()) {
                if (at < s.length()) sb.appendCodePoint(s.codePointAt(at));
                start = at + (at < s.length() ? Character.charCount(s.codePointAt(at)) : 1);
            } else {
                start = at + old.length();
            }
            done++;
        }
        if (start <= s.length()) sb.append(s, start, s.length());
        return sb.toString();
    }

    private static int find(String s, String sub) {
        int at = s.indexOf(sub);
        return at < 0 ? -1 : s.codePointCount(0, at);
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.codePointCount(0, s.length()) + 1;
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Object[] args) {
        if (args.length != 1) throw new ELException("str.join takes 1 argument, got " + args.length);
        Iterable<?> items = switch (args[0]) {
            case Collection<?> c -> c;
            case String str -> str.codePoints().mapToObj(Character::toString).toList();
            case null, default -> throw new ELException("str.join needs a list, got " + typeName(args[0]));
        };
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object item : items) {
            if (!(item instanceof String str)) throw new ELException("str.join: expected str items, found " + typeName(item));
            if (!first) sb.append(sep);
            sb.append(str);
            first = false;
        }
        return sb.toString();
    }

    // ---- slices ----

    private static List<Object> slice(List<?> list, Object[] args) {
        List<Object> out = new ArrayList<>();
        for (int i : sliceIndices(list.size(), args)) out.add(list.get(i));
        return out;
    }

    /** The indices picked by {@code [start:stop:step]} of a sequence of {@code length}, as Python's slice.indices. */
    static List<Integer> sliceIndices(int length, Object[] args) {
        if (args.length != 3) throw new ELException("py_slice takes start, stop, step; got " + args.length + " arguments");
        int step = args[2] == null ? 1 : intArg("slice", args[2]);
        if (step == 0) throw new ELException("slice step cannot be zero");
        int lower = step > 0 ? 0 : -1, upper = step > 0 ? length : length - 1;
        int start = args[0] == null ? (step > 0 ? lower : upper) : clamp(intArg("slice", args[0]), length, lower, upper);
        int stop = args[1] == null ? (step > 0 ? upper : lower) : clamp(intArg("slice", args[1]), length, lower, upper);
        List<Integer> picked = new ArrayList<>();
        for (int i = start; step > 0 ? i < stop : i > stop; i += step) picked.add(i);
        return picked;
    }

    private static int clamp(int index, int length, int lower, int upper) {
        return index < 0 ? Math.max(index + length, lower) : Math.min(index, upper);
    }

    // ---- arguments ----

    private static String charsArg(String name, Object[] args) {
        if (args.length > 1) throw new ELException("str." + name + " takes at most 1 argument, got " + args.length);
        return args.length == 0 || args[0] == null ? null : stringArg(name, args, 0);
    }

    private static String sepArg(String name, Object[] args) {
        if (args.length > 2) throw new ELException("str." + name + " takes at most 2 arguments, got " + args.length);
        String sep = args.length == 0 || args[0] == null ? null : stringArg(name, args, 0);
        if (sep != null && sep.isEmpty()) throw new ELException("str." + name + ": empty separator");
        return sep;
    }

    private static int maxSplitArg(String name, Object[] args) {
        return args.length < 2 ? -1 : intArg(name, args[1]);
    }

    private static List<String> affixes(String name, Object[] args) {
        if (args.length != 1) throw new ELException("str." + name + " takes 1 argument, got " + args.length);
        if (args[0] instanceof String s) return List.of(s);
        if (args[0] instanceof Collection<?> c && c.stream().allMatch(x -> x instanceof String)) {
            return c.stream().map(String.class::cast).toList();
        }
        throw new ELException("str." + name + " needs a str or a tuple of str, got " + typeName(args[0]));
    }

    private static String stringArg(String name, Object[] args, int i) {
        if (i >= args.length || !(args[i] instanceof String s)) {
            throw new ELException("str." + name + ": argument " + (i + 1) + " must be a str, got "
                    + (i >= args.length ? "nothing" : typeName(args[i])));
        }
        return s;
    }

    private static int intArg(String name, Object arg) {
        if (arg instanceof Integer || arg instanceof Long || arg instanceof Short || arg instanceof Byte) {
            return Math.toIntExact(((Number) arg).longValue());
        }
        throw new ELException(name + ": expected an integer, got " + typeName(arg));
    }

    private static Object noArgs(String name, Object[] args, Object result) {
        if (args.length != 0) throw new ELException("str." + name + " takes no arguments, got " + args.length);
        return result;
    }

    static String typeName(Object o) {
        return o == null ? "none" : o.getClass().getSimpleName();
    }

    // ---- the rest of ELResolver: this resolver only reads ----

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // not ours: later resolvers handle assignments
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
