package dev.mergeline.s3;

import java.time.Instant;

/**
 * An object listed under a prefix.
 *
 * @param key full object key
 * @param size bytes
 * @param etag ETag without quotes
 * @param lastModified when the object was last written, as S3 reports it (null when unknown);
 *     an upload of identical bytes keeps the ETag but changes this
 */
public record ObjectInfo(String key, long size, String etag, Instant lastModified) {

    /** An object whose modification time is unknown. */
    public ObjectInfo(String key, long size, String etag) {
        this(key, size, etag, null);
    }

    /** The last path segment of the key. */
    public String fileName() {
        return key.substring(key.lastIndexOf('/') + 1);
    }
}
