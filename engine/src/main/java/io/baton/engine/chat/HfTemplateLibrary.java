package io.baton.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What HF transformers adds to Jinja2's environment when it renders a chat template ({@code _compile_jinja_template}
 * in transformers' {@code utils/chat_template_utils.py}), rebuilt on Jinjava:
 * <ul>
 *   <li>global functions {@code raise_exception(message)} (fails the render with the template's message) and
 *       {@code strftime_now(format)} (the current local time, C-locale {@code strftime});</li>
 *   <li>the {@code tojson} filter with HF's semantics (see {@link PythonJson});</li>
 *   <li>Jinja2 filters Jinjava lacks or spells differently: {@code items} (Jinja 3.1) and {@code trim} with Python's
 *       {@code str.strip} (Jinjava's trims ASCII control characters too, and prints none as "null").</li>
 * </ul>
 * Every filter or test name a template uses that Jinjava does not know gets a stand-in that fails the render with a
 * clear message when reached; without it Jinjava would silently print nothing.
 */
final class HfTemplateLibrary {
    private HfTemplateLibrary() {}

    /** Names that templates test with {@code is defined}; HF defines them as globals. */
    static final Set<String> GLOBAL_FUNCTIONS = Set.of("raise_exception", "strftime_now");

    static void install(Jinjava jinjava, Set<String> filtersUsed, Set<String> testsUsed) {
        Context global = jinjava.getGlobalContext();
        // This constructor makes the methods accessible: the class is not public.
        global.registerFunction(new ELFunctionDefinition("", "raise_exception", HfTemplateLibrary.class, "raiseException", Object.class));
        global.registerFunction(new ELFunctionDefinition("", "strftime_now", HfTemplateLibrary.class, "strftimeNow", String.class));
        global.registerFilter(new ToJson());
        global.registerFilter(new Items());
        global.registerFilter(new Trim());
        for (String name : filtersUsed) {
            if (global.getFilter(name) == null) global.registerFilter(new Unsupported(name));
        }
        for (String name : testsUsed) {
            if (global.getExpTest(name) == null) global.registerExpTest(new Unsupported(name));
        }
    }

    /** {@code raise_exception(msg)}: HF raises jinja2's TemplateError with the template's own message. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** Thrown by {@code raise_exception}; its message is the template's, unchanged. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    /** {@code strftime_now(fmt)}: {@code datetime.now().strftime(fmt)}, the clock and zone coming from the config. */
    public static String strftimeNow(String format) {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        long millis = interpreter.getConfig().getDateTimeProvider().getCurrentTimeMillis();
        return strftime(ZonedDateTime.ofInstant(Instant.ofEpochMilli(millis), interpreter.getConfig().getTimeZone()), format);
    }

    /**
     * C-locale {@code strftime} for the codes of the C standard that templates use: %a %A %b %B %d %e %H %I %j %m %M
     * %p %S %y %Y %z %Z %%, plus glibc's %-d style (no padding). Other codes are an error rather than a guess.
     */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char code = format.charAt(++i);
            boolean pad = true;
            if (code == '-' && i + 1 < format.length()) {
                pad = false;
                code = format.charAt(++i);
            }
            int hour12 = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
            sb.append(switch (code) {
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US);
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.US);
                case 'd' -> number(t.getDayOfMonth(), 2, pad);
                case 'e' -> pad ? String.format("%2d", t.getDayOfMonth()) : Integer.toString(t.getDayOfMonth());
                case 'H' -> number(t.getHour(), 2, pad);
                case 'I' -> number(hour12, 2, pad);
                case 'j' -> number(t.getDayOfYear(), 3, pad);
                case 'm' -> number(t.getMonthValue(), 2, pad);
                case 'M' -> number(t.getMinute(), 2, pad);
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'S' -> number(t.getSecond(), 2, pad);
                case 'y' -> number(t.getYear() % 100, 2, pad);
                case 'Y' -> Integer.toString(t.getYear());
                case 'z' -> {
                    int s = t.getOffset().getTotalSeconds();
                    yield (s < 0 ? "-" : "+") + number(Math.abs(s) / 3600, 2, true) + number(Math.abs(s) / 60 % 60, 2, true);
                }
                case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.US);
                case '%' -> "%";
                default -> throw new ChatTemplateException("strftime_now: unsupported format code %" + code);
            });
        }
        return sb.toString();
    }

    private static String number(int n, int width, boolean pad) {
        String s = Integer.toString(n);
        return pad && s.length() < width ? "0".repeat(width - s.length()) + s : s;
    }

    /** HF's tojson: {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            // Positional order of HF's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
            List<String> order = List.of("ensure_ascii", "indent", "separators", "sort_keys");
            if (args.length > order.size()) throw new ChatTemplateException("tojson takes at most 4 arguments, got " + args.length);
            Object[] values = new Object[order.size()];
            System.arraycopy(args, 0, values, 0, args.length);
            for (Map.Entry<String, Object> kw : kwargs.entrySet()) {
                int at = order.indexOf(kw.getKey());
                if (at < 0) throw new ChatTemplateException("tojson got an unexpected keyword argument '" + kw.getKey() + "'");
                values[at] = kw.getValue();
            }
            PythonJson.Options options = PythonJson.Options.of(
                    Boolean.TRUE.equals(values[0]), values[1], values[2] == null ? null : asList(values[2]), Boolean.TRUE.equals(values[3]));
            return PythonJson.dumps(var, options);
        }

        private static List<?> asList(Object o) {
            if (o instanceof List<?> l) return l;
            throw new ChatTemplateException("tojson: separators must be a pair of strings");
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /** Jinja 3.1's {@code items}: the (key, value) pairs of a mapping; none or undefined gives no pairs. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) return List.of();
            if (!(var instanceof Map<?, ?> map)) throw new ChatTemplateException("items filter needs a mapping, got " + PythonMethods.typeName(var));
            return new ArrayList<>(map.entrySet());
        }
    }

    /**
     * Jinja2's {@code trim(value, chars=None)}: {@code str(value).strip(chars)}. Jinjava gives null for both none and
     * undefined; it is read as undefined, which Jinja2 prints as "".
     */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String chars = args.length > 0 ? args[0] : null;
            return PythonMethods.strip(var == null ? "" : Objects.toString(var), chars, true, true);
        }
    }

    /** Stands in for a filter or test that is not implemented, so that using it fails instead of printing nothing. */
    static final class Unsupported implements Filter, ExpTest {
        private final String name;

        Unsupported(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            throw new ChatTemplateException("the chat template uses the Jinja filter '" + name + "', which Baton does not support");
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            throw new ChatTemplateException("the chat template uses the Jinja test '" + name + "', which Baton does not support");
        }
    }
}
