package dev.mergeline.events;

import java.util.regex.Pattern;

/** Rules for bucket names, adapter ids and base model names (which become S3 key segments). */
final class S3Names {
    /** S3 bucket naming rules (general purpose buckets): 3–63 of a-z 0-9 . -, alphanumeric at both ends. */
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    /** One safe key segment: 1–128 of A-Z a-z 0-9 . _ - (and not "." or ".."). */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private S3Names() {}

    static boolean isBucket(String s) {
        return s != null && BUCKET.matcher(s).matches() && !s.contains("..");
    }

    static boolean isSafeSegment(String s) {
        return s != null && SEGMENT.matcher(s).matches() && !s.equals(".") && !s.equals("..");
    }

    /** A base model name: one or more safe segments joined by '/', at most 256 characters. */
    static boolean isBaseName(String s) {
        if (s == null || s.isEmpty() || s.length() > 256) {
            return false;
        }
        for (String segment : s.split("/", -1)) {
            if (!isSafeSegment(segment)) {
                return false;
            }
        }
        return true;
    }

    static String bucket(String value, String field) {
        Check.required(value, field);
        if (!isBucket(value)) {
            throw EventFormatException.invalid(field, value,
                    "not a valid S3 bucket name (3-63 characters of a-z, 0-9, '.', '-')");
        }
        return value;
    }
}
