package dev.mergeline.events;

import java.util.Optional;

/**
 * An object key recognized as a file directly inside an adapter directory:
 * exactly {@code adapters/<id>/<file>}.
 *
 * @param location the adapter
 * @param fileName the file's name (last key segment)
 * @param file which file it is
 */
public record AdapterObjectKey(AdapterLocation location, String fileName, AdapterFile file) {
    private static final int MAX_FILE_NAME = 255;

    public AdapterObjectKey {
        Check.required(location, "location");
        Check.required(file, "file");
        if (!isSafeFileName(fileName)) {
            throw EventFormatException.invalid("fileName", fileName, "not a safe file name");
        }
    }

    /** The full object key. */
    public String key() {
        return location.key(fileName);
    }

    /**
     * Decides whether {@code key} (already URL-decoded) is a file of an adapter. Empty for anything
     * else, including every hostile form: {@code ..} or {@code .} segments, absolute keys, empty
     * segments, backslashes, control characters, invalid ids, nested paths, other prefixes.
     *
     * @param bucket the bucket the object is in; must be a valid bucket name
     * @param key the decoded object key
     */
    public static Optional<AdapterObjectKey> parse(String bucket, String key) {
        if (key == null || !S3Names.isBucket(bucket) || !key.startsWith(AdapterLocation.ROOT)) {
            return Optional.empty();
        }
        String rest = key.substring(AdapterLocation.ROOT.length());
        int slash = rest.indexOf('/');
        if (slash < 0) {
            return Optional.empty();
        }
        String id = rest.substring(0, slash);
        String fileName = rest.substring(slash + 1);
        if (!AdapterLocation.isValidId(id) || !isSafeFileName(fileName)) {
            return Optional.empty();
        }
        return Optional.of(new AdapterObjectKey(new AdapterLocation(bucket, id), fileName, AdapterFile.of(fileName)));
    }

    /**
     * One key segment: non-empty, at most 255 characters, not {@code .}/{@code ..}, no slash,
     * backslash, control or format character, no lone surrogate.
     */
    static boolean isSafeFileName(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_FILE_NAME || name.equals(".") || name.equals("..")) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == '\\' || Character.isISOControl(c)) {
                return false;
            }
            int type = Character.getType(c);
            // Format characters (bidi overrides, zero-width), line/paragraph separators and lone
            // surrogates have no place in a file name and can disguise one in logs.
            if (type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR) {
                return false;
            }
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < name.length()
                        && Character.isLowSurrogate(name.charAt(i + 1));
                if (!paired) {
                    return false;
                }
                i++;
            }
        }
        return true;
    }
}
