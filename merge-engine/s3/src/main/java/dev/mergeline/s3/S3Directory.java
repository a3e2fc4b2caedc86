package dev.mergeline.s3;

import dev.mergeline.core.run.InputRules;
import dev.mergeline.core.run.InputSource;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The objects directly under an S3 prefix as an {@link InputSource}: the listing is taken once,
 * reads are ranged GETs pinned to nothing but the key (validation compares ETags afterwards, see
 * {@link #etags}). Holds no rules of its own; {@link InputRules} decides what the objects mean.
 */
public final class S3Directory implements InputSource<StorageException> {
    private final S3Objects s3;
    private final String bucket;
    private final String prefix;
    private final Map<String, ObjectInfo> objects = new LinkedHashMap<>();

    /**
     * @param prefix the directory's key prefix, ending in '/'
     * @param listing objects under the prefix; those in deeper "subdirectories" are left out
     */
    public S3Directory(S3Objects s3, String bucket, String prefix, List<ObjectInfo> listing) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        for (ObjectInfo o : listing) {
            String name = o.key().startsWith(prefix) ? o.key().substring(prefix.length()) : "";
            if (!name.isEmpty() && name.indexOf('/') < 0) {
                objects.put(name, o);
            }
        }
    }

    /** Lists the prefix once (paginated). */
    public static S3Directory list(S3Objects s3, String bucket, String prefix) throws StorageException {
        return new S3Directory(s3, bucket, prefix, s3.list(bucket, prefix));
    }

    @Override
    public Map<String, Long> files() {
        Map<String, Long> sizes = new LinkedHashMap<>();
        objects.forEach((name, o) -> sizes.put(name, o.size()));
        return Collections.unmodifiableMap(sizes);
    }

    /** A ranged GET; an object shorter than the listing said (replaced since) is a retriable failure. */
    @Override
    public byte[] read(String file, long offset, int length) throws StorageException {
        String key = prefix + file;
        byte[] bytes = s3.getRange(bucket, key, offset, length);
        if (bytes.length != length) {
            throw new StorageException("s3://" + bucket + "/" + key + " returned " + bytes.length + " bytes from offset "
                    + offset + " where " + length + " were asked for: the object changed since it was listed", true,
                    null);
        }
        return bytes;
    }

    @Override
    public String locate(String file) {
        return "s3://" + bucket + "/" + prefix + file;
    }

    /** File name to ETag, for {@code files} (those read, as {@link InputRules} reports them), in that order. */
    public Map<String, String> etags(List<String> files) {
        Map<String, String> etags = new LinkedHashMap<>();
        for (String f : files) {
            ObjectInfo o = objects.get(f);
            if (o != null) {
                etags.put(f, o.etag());
            }
        }
        return etags;
    }
}
