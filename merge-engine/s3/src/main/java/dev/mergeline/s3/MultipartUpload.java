package dev.mergeline.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * One file uploaded as an S3 multipart upload: parts of {@link TransferSettings#uploadPartBytes}
 * each, up to {@link TransferSettings#concurrency()} in flight, every part streamed from its region of
 * the file with positional reads (a retried part reads its region again; nothing is buffered whole).
 * The object appears only when the upload is completed; if any part fails, the upload is aborted so
 * that S3 keeps none of its parts, and the first failure is thrown.
 */
final class MultipartUpload {
    private final S3Client s3;
    private final TransferSettings settings;
    private final LongConsumer sent;

    /** @param sent told the bytes of each part S3 accepted, from the part threads, concurrently */
    MultipartUpload(S3Client s3, TransferSettings settings, LongConsumer sent) {
        this.s3 = s3;
        this.settings = settings;
        this.sent = sent;
    }

    /** @return the object's ETag */
    String upload(Path file, long size, String bucket, String key, String contentType) throws StorageException {
        String where = "s3://" + bucket + "/" + key;
        String uploadId = S3Objects.call("start upload " + where,
                () -> s3.createMultipartUpload(b -> b.bucket(bucket).key(key).contentType(contentType))).uploadId();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long partBytes = settings.uploadPartBytes(size);
            int count = (int) TransferSettings.ceilDiv(size, partBytes);
            CompletedPart[] done = new CompletedPart[count];
            List<ConcurrentParts.Part> parts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int number = i + 1;
                long offset = i * partBytes;
                long length = Math.min(partBytes, size - offset);
                parts.add(stopped -> {
                    String etag = S3Objects.call("upload part " + number + " of " + count + " of " + where,
                            () -> s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                                    .contentLength(length), RequestBody.fromContentProvider(
                                            () -> new FileRegion(in, offset, length, stopped), length,
                                            "application/octet-stream")).eTag());
                    done[number - 1] = CompletedPart.builder().partNumber(number).eTag(etag).build();
                    sent.accept(length);
                });
            }
            ConcurrentParts.run("upload of " + file + " to " + where, parts, settings.concurrency());
            return S3Objects.unquote(S3Objects.call("complete upload " + where, () -> s3.completeMultipartUpload(
                    CompleteMultipartUploadRequest.builder().bucket(bucket).key(key).uploadId(uploadId)
                            .multipartUpload(CompletedMultipartUpload.builder().parts(Arrays.asList(done)).build())
                            .build())).eTag());
        } catch (StorageException e) {
            abort(bucket, key, uploadId, e);
            throw e;
        } catch (IOException | RuntimeException e) {
            StorageException failure = new StorageException("upload of " + file + " to " + where + " failed: "
                    + e.getMessage(), false, e);
            abort(bucket, key, uploadId, failure);
            throw failure;
        }
    }

    /** Aborts the upload (S3 drops its parts); a failure to abort is attached to {@code failure}. */
    private void abort(String bucket, String key, String uploadId, StorageException failure) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
        } catch (SdkException e) {
            // Unreferenced parts stay until a lifecycle rule (AbortIncompleteMultipartUpload) removes them.
            failure.addSuppressed(new StorageException("could not abort multipart upload " + uploadId + " of s3://"
                    + bucket + "/" + key + ": " + e.getMessage(), true, e));
        }
    }

    /**
     * Bytes {@code [offset, offset + length)} of a file, read with positional reads (the channel is
     * shared by all parts). Stops with an error once the transfer is stopped.
     */
    private static final class FileRegion extends InputStream {
        private final FileChannel channel;
        private final long end;
        private final BooleanSupplier stopped;
        private long position;

        FileRegion(FileChannel channel, long offset, long length, BooleanSupplier stopped) {
            this.channel = channel;
            this.position = offset;
            this.end = offset + length;
            this.stopped = stopped;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (stopped.getAsBoolean()) {
                throw new IOException("upload stopped: another part failed");
            }
            if (position >= end) {
                return -1;
            }
            int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - position)), position);
            if (n < 0) {
                throw new IOException("the file ended at " + position + ", before the part's end at " + end);
            }
            position += n;
            return n;
        }
    }
}
