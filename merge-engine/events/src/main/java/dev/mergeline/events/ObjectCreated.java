package dev.mergeline.events;

import java.util.Optional;

/**
 * One {@code ObjectCreated:*} record of an S3 event notification.
 *
 * @param bucket bucket name
 * @param key object key, URL-decoded ({@code +} → space, {@code %2B} → plus)
 * @param size object size in bytes
 * @param eTag ETag without quotes ({@code -N} suffix for multipart uploads), or null when absent
 * @param sequencer S3's per-key ordering token (hex; compare same-length strings after left-padding), or null
 * @param eventName e.g. {@code ObjectCreated:Put}, {@code ObjectCreated:CompleteMultipartUpload},
 *     {@code ObjectCreated:Copy}
 */
public record ObjectCreated(String bucket, String key, long size, String eTag, String sequencer, String eventName) {
    public ObjectCreated {
        Check.text(bucket, "bucket");
        Check.required(key, "key");
        if (key.isEmpty()) {
            throw EventFormatException.invalid("key", key, "must not be empty");
        }
        Check.nonNegative(size, "size");
        if (eTag != null) {
            eTag = Etags.normalize(eTag, "eTag");
        }
        Check.text(eventName, "eventName");
    }

    /** The adapter file this object is, if it is one (see {@link AdapterObjectKey#parse}). */
    public Optional<AdapterObjectKey> adapterKey() {
        return AdapterObjectKey.parse(bucket, key);
    }
}
