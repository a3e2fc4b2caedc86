package dev.mergeline.events;

/**
 * A message or event that does not follow the contract: malformed JSON, a wrong CloudEvents
 * attribute, a missing required field, a value out of range. The message names the field (a
 * dotted path such as {@code data.adapter.bucket}) and the offending value.
 *
 * <p>Unchecked, because record constructors throw it too: building an event with a missing
 * required field is the same contract violation as decoding one.
 */
public class EventFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;
    private final String value;
    private final String problem;

    /**
     * @param field dotted path of the offending field, or null when the whole document is at fault
     * @param value the offending value as it appeared (abbreviated), or null when absent
     * @param problem what is wrong, e.g. "required field is missing"
     */
    public EventFormatException(String field, String value, String problem) {
        this(field, value, problem, null);
    }

    public EventFormatException(String field, String value, String problem, Throwable cause) {
        super(render(field, value, problem), cause);
        this.field = field;
        this.value = value;
        this.problem = problem;
    }

    /** A required field that is absent or null. */
    public static EventFormatException missing(String field) {
        return new EventFormatException(field, null, "required field is missing");
    }

    /** A field whose value breaks a rule. */
    public static EventFormatException invalid(String field, Object value, String problem) {
        return new EventFormatException(field, value == null ? null : abbreviate(String.valueOf(value)), problem);
    }

    /** Dotted path of the offending field ({@code data.adapter.bucket}); null for the whole document. */
    public String field() {
        return field;
    }

    /** The offending value (abbreviated to 200 characters), or null when the field is absent. */
    public String value() {
        return value;
    }

    /** What is wrong, without the field and value. */
    public String problem() {
        return problem;
    }

    /** The same problem, with {@code parent} prepended to the field path. */
    public EventFormatException under(String parent) {
        if (parent == null || parent.isEmpty()) {
            return this;
        }
        String path = field == null || field.isEmpty() ? parent
                : field.startsWith("[") ? parent + field : parent + "." + field;
        EventFormatException e = new EventFormatException(path, value, problem, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    static String abbreviate(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 210));
        int n = 0;
        for (int i = 0; i < s.length() && n < 200; i++, n++) {
            char c = s.charAt(i);
            // Control characters are shown escaped so that a hostile value cannot forge log lines.
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > 200) {
            b.append("…");
        }
        return b.toString();
    }

    private static String render(String field, String value, String problem) {
        StringBuilder s = new StringBuilder();
        s.append(field == null || field.isEmpty() ? "message" : field).append(": ").append(problem);
        if (value != null) {
            s.append(" (value: \"").append(value).append("\")");
        }
        return s.toString();
    }
}
