package dev.mergeline.s3;

/**
 * An object listed under a prefix.
 *
 * @param key full object key
 * @param size bytes
 * @param etag ETag without quotes
 */
public record ObjectInfo(String key, long size, String etag) {
    /** The last path segment of the key. */
    public String fileName() {
        return key.substring(key.lastIndexOf('/') + 1);
    }
}
