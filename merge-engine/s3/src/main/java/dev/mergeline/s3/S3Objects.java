package dev.mergeline.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.paginators.ListObjectsV2Iterable;

/**
 * The S3 operations Mergeline needs, with byte accounting and one error type that says whether a
 * retry can help. The SDK itself retries transient failures with backoff first.
 */
public final class S3Objects {
    /** Part size of multipart uploads. */
    static final long PART_BYTES = 64L << 20;
    /** Attempts per download whose response body breaks off (the request itself is retried by the SDK). */
    static final int BODY_ATTEMPTS = 3;

    private final S3Client s3;
    private final AtomicLong bytesRead = new AtomicLong();

    public S3Objects(S3Client s3) {
        this.s3 = s3;
    }

    /** Bytes of object data received so far by this instance (GET bodies, ranged or not). */
    public long bytesRead() {
        return bytesRead.get();
    }

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
    public Optional<ObjectInfo> head(String bucket, String key) throws StorageException {
        return call("look up s3://" + bucket + "/" + key, () -> s3.listObjectsV2(b -> b.bucket(bucket).prefix(key)
                        .maxKeys(1))
                .contents().stream()
                .filter(o -> o.key().equals(key))
                .findFirst()
                .map(o -> new ObjectInfo(o.key(), o.size(), unquote(o.eTag()), o.lastModified())));
    }

    /** The whole object, refused (not read) when larger than {@code maxBytes}. */
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
     * Streams the object into {@code target} (via a temp file beside it, then renamed). The SDK
     * retries failed requests, but not a response body that breaks off (connection reset, truncated
     * body): such a download starts over, up to {@link #BODY_ATTEMPTS} times, before it fails as
     * retriable. A failure to write the local file (a full disk) is not S3's: it fails at once,
     * non-retriable, with the local {@link IOException} as cause.
     */
    public void download(String bucket, String key, Path target) throws StorageException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".part");
        String what = "download s3://" + bucket + "/" + key;
        for (int attempt = 1; ; attempt++) {
            try (ResponseInputStream<GetObjectResponse> in = call(what,
                    () -> s3.getObject(GetObjectRequest.builder().bucket(bucket).key(key).build()));
                    OutputStream out = Files.newOutputStream(tmp)) {
                long n = copyBody(in, out);
                Long expected = in.response().contentLength();
                if (expected != null && n != expected) {
                    // A body cut short without an error from the HTTP stack: never pass it on as the object.
                    throw new BodyReadException(new IOException("truncated body: " + n + " of " + expected + " bytes"));
                }
                break;
            } catch (BodyReadException e) {
                if (attempt >= BODY_ATTEMPTS) {
                    throw new StorageException(what + " failed: the response body broke off " + attempt
                            + " times (" + e.getCause().getMessage() + ")", true, e.getCause());
                }
                sleepBeforeRetry(what, attempt);
            } catch (StorageException e) {
                throw e;
            } catch (IOException e) {
                throw new StorageException("cannot write " + tmp + " (" + what + "): " + e.getMessage(), false, e);
            }
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new StorageException("cannot place " + target + ": " + e.getMessage(), false, e);
        }
    }

    /** Reading the response body failed (as opposed to writing the local copy). */
    private static final class BodyReadException extends IOException {
        BodyReadException(IOException cause) {
            super(cause);
        }
    }

    /** @return the bytes copied */
    private long copyBody(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long total = 0;
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException | SdkClientException e) {
                throw new BodyReadException(e instanceof IOException io ? io : new IOException(e.getMessage(), e));
            }
            if (n < 0) {
                return total;
            }
            bytesRead.addAndGet(n);
            total += n;
            out.write(buffer, 0, n);
        }
    }

    private static void sleepBeforeRetry(String what, int attempt) throws StorageException {
        try {
            Thread.sleep(200L << (attempt - 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(what + " interrupted", true, e);
        }
    }

    /** Uploads a file; multipart above {@link #PART_BYTES}. Returns the ETag. */
    public String upload(Path file, String bucket, String key, String contentType) throws StorageException {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new StorageException("cannot read " + file + ": " + e.getMessage(), false, e);
        }
        if (size <= PART_BYTES) {
            return call("put s3://" + bucket + "/" + key, () -> unquote(s3.putObject(
                    b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(file)).eTag()));
        }
        CreateMultipartUploadResponse mpu = call("start upload s3://" + bucket + "/" + key,
                () -> s3.createMultipartUpload(b -> b.bucket(bucket).key(key).contentType(contentType)));
        try {
            List<CompletedPart> parts = new ArrayList<>();
            try (var channel = java.nio.channels.FileChannel.open(file)) {
                int number = 1;
                for (long off = 0; off < size; off += PART_BYTES, number++) {
                    long len = Math.min(PART_BYTES, size - off);
                    var mapped = channel.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, off, len);
                    int partNumber = number;
                    String etag = call("upload part " + partNumber + " of s3://" + bucket + "/" + key,
                            () -> s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(mpu.uploadId())
                                    .partNumber(partNumber), RequestBody.fromByteBuffer(mapped)).eTag());
                    parts.add(CompletedPart.builder().partNumber(partNumber).eTag(etag).build());
                }
            }
            return call("complete upload s3://" + bucket + "/" + key, () -> unquote(s3.completeMultipartUpload(
                    CompleteMultipartUploadRequest.builder().bucket(bucket).key(key).uploadId(mpu.uploadId())
                            .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build()).build()).eTag()));
        } catch (IOException | RuntimeException e) {
            try {
                s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(mpu.uploadId()));
            } catch (SdkException ignored) {
                // the upload is unreferenced either way; lifecycle rules clean incomplete uploads
            }
            if (e instanceof StorageException se) {
                throw se;
            }
            throw new StorageException("upload of " + file + " failed: " + e.getMessage(), false, e);
        }
    }

    public void putBytes(byte[] data, String bucket, String key, String contentType) throws StorageException {
        call("put s3://" + bucket + "/" + key,
                () -> s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(data)));
    }

    public void delete(String bucket, String key) throws StorageException {
        call("delete s3://" + bucket + "/" + key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
    }

    private interface Call<T> {
        T run();
    }

    private static <T> T call(String what, Call<T> call) throws StorageException {
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

    static String unquote(String etag) {
        return etag == null ? null : etag.replace("\"", "");
    }
}
