package dev.mergeline.s3;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.paginators.ListObjectsV2Iterable;

/**
 * The S3 operations Mergeline needs, with byte accounting and one error type that says whether a
 * retry can help. The SDK itself retries transient failures with backoff first. Large objects move in
 * concurrent parts ({@link TransferSettings}).
 */
public final class S3Objects implements ObjectStore {
    private final S3Client s3;
    private final TransferSettings transfers;
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private static final LongConsumer NO_PROGRESS = n -> { };

    /** With {@link TransferSettings#DEFAULTS}. */
    public S3Objects(S3Client s3) {
        this(s3, TransferSettings.DEFAULTS);
    }

    /** @param transfers part size and concurrency of downloads and uploads */
    public S3Objects(S3Client s3, TransferSettings transfers) {
        this.s3 = s3;
        this.transfers = transfers;
    }

    /** Bytes of object data received so far by this instance (GET bodies, ranged or not). */
    @Override
    public long bytesRead() {
        return bytesRead.get();
    }

    /** Bytes of object data uploaded so far by this instance (PUT bodies and completed parts). */
    @Override
    public long bytesWritten() {
        return bytesWritten.get();
    }

    @Override
    public List<ObjectInfo> list(String bucket, String prefix) throws StorageException {
        return call("list s3://" + bucket + "/" + prefix, () -> {
            List<ObjectInfo> out = new ArrayList<>();
            ListObjectsV2Iterable pages = s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix));
            for (S3Object o : pages.contents()) {
                out.add(new ObjectInfo(o.key(), o.size(), unquote(o.eTag()), o.lastModified()));
            }
            return out;
        });
    }

    /**
     * Size and ETag, or empty when the object does not exist. Implemented as a one-key listing, not
     * HeadObject: without {@code s3:ListBucket} on the key's prefix S3 answers a HEAD of a missing key
     * with 403, and the least-privilege roles grant listing only on their own prefixes.
     */
    @Override
    public Optional<ObjectInfo> head(String bucket, String key) throws StorageException {
        return call("look up s3://" + bucket + "/" + key, () -> s3.listObjectsV2(b -> b.bucket(bucket).prefix(key)
                        .maxKeys(1))
                .contents().stream()
                .filter(o -> o.key().equals(key))
                .findFirst()
                .map(o -> new ObjectInfo(o.key(), o.size(), unquote(o.eTag()), o.lastModified())));
    }

    /** The whole object, refused (not read) when larger than {@code maxBytes}. */
    @Override
    public byte[] getSmall(String bucket, String key, long maxBytes) throws StorageException {
        ResponseBytes<GetObjectResponse> r = call("get s3://" + bucket + "/" + key,
                () -> s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=0-" + maxBytes)));
        byte[] bytes = r.asByteArray();
        bytesRead.addAndGet(bytes.length);
        if (bytes.length > maxBytes) {
            throw new StorageException("s3://" + bucket + "/" + key + " is larger than the limit of " + maxBytes
                    + " bytes", false, null);
        }
        return bytes;
    }

    /** {@code length} bytes from {@code offset} (a ranged GET). */
    public byte[] getRange(String bucket, String key, long offset, long length) throws StorageException {
        if (length <= 0) {
            return new byte[0];
        }
        long last = Math.addExact(offset, length - 1);
        byte[] bytes = call("get s3://" + bucket + "/" + key + " bytes " + offset + "-" + last,
                () -> s3.getObjectAsBytes(b -> b.bucket(bucket).key(key).range("bytes=" + offset + "-" + last)))
                .asByteArray();
        bytesRead.addAndGet(bytes.length);
        return bytes;
    }

    /**
     * Downloads {@code object} into {@code target}: in ranged parts, concurrently, each resumed where
     * its body broke off, all pinned to the object's ETag; see {@link RangedDownload}. The file appears
     * under its name only when complete.
     *
     * @param object key, size and ETag as listed (null ETag: no consistency check)
     * @throws ObjectChangedException when the object no longer has {@code object}'s ETag
     * @throws StorageException otherwise; retriable when S3 failed, not when the local file could not be written
     */
    public void download(String bucket, ObjectInfo object, Path target) throws StorageException {
        download(bucket, object, target, NO_PROGRESS);
    }

    /**
     * {@link #download(String, ObjectInfo, Path)}, telling {@code progress} the bytes of every chunk
     * written to the file as it arrives (called from the part threads, concurrently; a part that
     * resumes does not count its bytes twice, so the sum never exceeds the object's size).
     */
    @Override
    public void download(String bucket, ObjectInfo object, Path target, LongConsumer progress)
            throws StorageException {
        new RangedDownload(s3, transfers, n -> {
            bytesRead.addAndGet(n);
            progress.accept(n);
        }, bucket, object, target).run();
    }

    /**
     * Uploads a file and returns its ETag: one PUT up to {@link TransferSettings#partBytes()}, a
     * concurrent multipart upload above that, aborted on failure; see {@link MultipartUpload}.
     */
    public String upload(Path file, String bucket, String key, String contentType) throws StorageException {
        return upload(file, bucket, key, contentType, NO_PROGRESS);
    }

    /**
     * {@link #upload(Path, String, String, String)}, telling {@code progress} the bytes of each part
     * (or of the single PUT) once S3 has accepted it; called from the part threads, concurrently.
     */
    @Override
    public String upload(Path file, String bucket, String key, String contentType, LongConsumer progress)
            throws StorageException {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new StorageException("cannot read " + file + ": " + e.getMessage(), false, e);
        }
        if (size <= transfers.partBytes()) {
            String etag = call("put s3://" + bucket + "/" + key, () -> unquote(s3.putObject(
                    b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(file)).eTag()));
            bytesWritten.addAndGet(size);
            progress.accept(size);
            return etag;
        }
        return new MultipartUpload(s3, transfers, n -> {
            bytesWritten.addAndGet(n);
            progress.accept(n);
        }).upload(file, size, bucket, key, contentType);
    }

    @Override
    public void putBytes(byte[] data, String bucket, String key, String contentType) throws StorageException {
        call("put s3://" + bucket + "/" + key,
                () -> s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(data)));
        bytesWritten.addAndGet(data.length);
    }

    public void delete(String bucket, String key) throws StorageException {
        call("delete s3://" + bucket + "/" + key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
    }

    interface Call<T> {
        T run();
    }

    static <T> T call(String what, Call<T> call) throws StorageException {
        try {
            return call.run();
        } catch (AwsServiceException e) {
            int status = e.statusCode();
            boolean retriable = status >= 500 || status == 429 || e.isThrottlingException();
            throw new StorageException(what + " failed: HTTP " + status + " " + e.awsErrorDetails().errorCode(),
                    retriable, e);
        } catch (SdkClientException e) {
            throw new StorageException(what + " failed: " + e.getMessage(), true, e);
        }
    }

    /** The HTTP status S3 answered with, or 0 when the failure was not an answer from S3. */
    static int status(StorageException e) {
        return e.getCause() instanceof AwsServiceException a ? a.statusCode() : 0;
    }

    static String unquote(String etag) {
        return etag == null ? null : etag.replace("\"", "");
    }
}
