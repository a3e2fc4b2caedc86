package dev.mergeline.events;

/**
 * ETag spelling. S3's HeadObject/GetObject return ETags in quotes ({@code "9b2cf5…"}), event
 * notifications without; Mergeline stores and hashes them without quotes so that both sources
 * give the same job id. Multipart ETags keep their {@code -N} part-count suffix.
 */
public final class Etags {
    private Etags() {}

    /** The ETag without surrounding quotes (and without a weak {@code W/} prefix). */
    public static String normalize(String etag) {
        return normalize(etag, "etag");
    }

    static String normalize(String etag, String field) {
        Check.required(etag, field);
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        if (e.isEmpty()) {
            throw EventFormatException.invalid(field, etag, "ETag must not be empty");
        }
        for (int i = 0; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c < 0x21 || c > 0x7e || c == '"') {
                throw EventFormatException.invalid(field, etag, "ETag must be printable ASCII without quotes inside");
            }
        }
        return e;
    }
}
