package dev.mergeline.events;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** Validation helpers for the records' compact constructors; every failure is an {@link EventFormatException}. */
final class Check {
    static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    /** Stable upper-snake-case code, as used by reason and failure codes. */
    static final Pattern CODE = Pattern.compile("[A-Z][A-Z0-9]*(_[A-Z0-9]+)*");

    private Check() {}

    static <T> T required(T value, String field) {
        if (value == null) {
            throw EventFormatException.missing(field);
        }
        return value;
    }

    static String text(String value, String field) {
        required(value, field);
        if (value.isBlank()) {
            throw EventFormatException.invalid(field, value, "must not be empty");
        }
        return value;
    }

    static String optionalText(String value, String field) {
        return value == null ? null : text(value, field);
    }

    static String sha256(String value, String field) {
        required(value, field);
        if (!SHA256_HEX.matcher(value).matches()) {
            throw EventFormatException.invalid(field, value, "must be 64 lowercase hex digits (SHA-256)");
        }
        return value;
    }

    static String jobId(String value, String field) {
        required(value, field);
        if (!JobId.isValid(value)) {
            throw EventFormatException.invalid(field, value, "must be 32 lowercase hex digits (a job id)");
        }
        return value;
    }

    static long nonNegative(long value, String field) {
        if (value < 0) {
            throw EventFormatException.invalid(field, value, "must not be negative");
        }
        return value;
    }

    /** An unmodifiable copy; elements must be non-null, the list itself is required. */
    static <T> List<T> list(List<T> value, String field) {
        required(value, field);
        List<T> copy = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            copy.add(required(value.get(i), field + "[" + i + "]"));
        }
        return Collections.unmodifiableList(copy);
    }

    static <T> List<T> nonEmptyList(List<T> value, String field) {
        List<T> copy = list(value, field);
        if (copy.isEmpty()) {
            throw EventFormatException.invalid(field, "[]", "must not be empty");
        }
        return copy;
    }

    static <T> List<T> optionalList(List<T> value, String field) {
        return value == null ? null : list(value, field);
    }

    /** An unmodifiable copy sorted by key; keys and values non-null, keys non-empty. */
    static <V> Map<String, V> sortedMap(Map<String, V> value, String field) {
        return Collections.unmodifiableMap(copy(value, field, new TreeMap<>()));
    }

    /** An unmodifiable copy keeping insertion order; keys and values non-null, keys non-empty. */
    static <V> Map<String, V> orderedMap(Map<String, V> value, String field) {
        return Collections.unmodifiableMap(copy(value, field, new LinkedHashMap<>()));
    }

    private static <V> Map<String, V> copy(Map<String, V> value, String field, Map<String, V> into) {
        required(value, field);
        for (Map.Entry<String, V> e : value.entrySet()) {
            String key = e.getKey();
            if (key == null || key.isEmpty()) {
                throw EventFormatException.invalid(field, key, "keys must not be empty");
            }
            into.put(key, required(e.getValue(), field + "." + key));
        }
        return into;
    }

    /** ETags keyed by file name: non-empty, each ETag normalized (quotes stripped). */
    static Map<String, String> etags(Map<String, String> value, String field) {
        Map<String, String> m = sortedMap(value, field);
        if (m.isEmpty()) {
            throw EventFormatException.invalid(field, "{}", "must name at least one file");
        }
        TreeMap<String, String> normalized = new TreeMap<>();
        m.forEach((k, v) -> normalized.put(k, Etags.normalize(v, field + "." + k)));
        return Collections.unmodifiableMap(normalized);
    }

    static Map<String, String> optionalEtags(Map<String, String> value, String field) {
        return value == null ? null : etags(value, field);
    }
}
