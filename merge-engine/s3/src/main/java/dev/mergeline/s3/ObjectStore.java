package dev.mergeline.s3;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The object operations a merge job needs: list and inspect inputs, download them, upload the
 * output and write small marker objects. {@link S3Objects} is the implementation; tests of the
 * worker's job recipe supply one that can fail on demand.
 */
public interface ObjectStore {
    /** Bytes of object data received so far. */
    long bytesRead();

    /** Bytes of object data uploaded so far. */
    long bytesWritten();

    List<ObjectInfo> list(String bucket, String prefix) throws StorageException;

    Optional<ObjectInfo> head(String bucket, String key) throws StorageException;

    /** The whole object; refused when it is larger than {@code maxBytes}. */
    byte[] getSmall(String bucket, String key, long maxBytes) throws StorageException;

    /**
     * The object into {@code target}, pinned to {@code object}'s ETag, telling {@code progress} the
     * bytes written as they arrive.
     *
     * @throws ObjectChangedException when the object no longer has {@code object}'s ETag
     */
    void download(String bucket, ObjectInfo object, Path target, LongConsumer progress) throws StorageException;

    /** Uploads a file, telling {@code progress} the bytes S3 accepted; returns its ETag. */
    String upload(Path file, String bucket, String key, String contentType, LongConsumer progress)
            throws StorageException;

    void putBytes(byte[] data, String bucket, String key, String contentType) throws StorageException;
}
