package dev.mergeline.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * One object downloaded into a local file: a temp file beside the target ({@code .<name>.part}),
 * sized up front, filled by ranged GETs of {@link TransferSettings#partBytes()} each, up to
 * {@link TransferSettings#concurrency()} at a time, every part written at its own offset; then
 * renamed to the target. Objects no larger than one part, and every object when the concurrency is 1,
 * come in one GET.
 *
 * <p><b>Consistency.</b> Every request carries {@code If-Match: <ETag>}, and the ETag of every
 * response is compared with it, so the parts cannot come from two versions of the object: a
 * replaced object fails the download with {@link ObjectChangedException}.
 *
 * <p><b>Broken bodies.</b> The SDK retries failed requests, but not a response body that breaks off
 * (connection reset, truncated body, or a body shorter than its {@code Content-Length} without an
 * error): such a part resumes where it broke off, with a ranged GET of the rest, up to
 * {@value #BODY_ATTEMPTS} breaks per part, before the download fails as retriable. A failure to
 * write the local file (a full disk) is not S3's: the download fails at once, non-retriable, with the
 * local {@link IOException} as cause. On any failure the temp file is removed.
 */
final class RangedDownload {
    /** Breaks of the response body per part before the download fails (each one resumes). */
    static final int BODY_ATTEMPTS = 5;
    private static final int BUFFER_BYTES = 1 << 16;

    private final S3Client s3;
    private final TransferSettings settings;
    private final LongConsumer received;
    private final String bucket;
    private final ObjectInfo object;
    private final Path target;
    private final Path tmp;
    private final String what;

    /** @param received told the bytes of each chunk written to the file, from the part threads, concurrently */
    RangedDownload(S3Client s3, TransferSettings settings, LongConsumer received, String bucket, ObjectInfo object,
            Path target) {
        this.target = target;
        this.s3 = s3;
        this.settings = settings;
        this.received = received;
        this.bucket = bucket;
        this.object = object;
        this.tmp = target.resolveSibling("." + target.getFileName() + ".part");
        this.what = "download s3://" + bucket + "/" + object.key();
    }

    void run() throws StorageException {
        boolean done = false;
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                long size = object.size();
                if (size > 0) {
                    out.write(ByteBuffer.allocate(1), size - 1); // full length now; parts fill it in any order
                }
                List<ConcurrentParts.Part> parts = new ArrayList<>();
                long part = settings.concurrency() == 1 ? Math.max(size, 1) : settings.partBytes();
                for (long start = 0; start < size; start += part) {
                    long from = start;
                    long to = Math.min(size, start + part);
                    parts.add(stopped -> fetch(out, from, to, stopped));
                }
                ConcurrentParts.run(what, parts, settings.concurrency());
            } catch (StorageException e) {
                throw e;
            } catch (IOException e) {
                throw localFailure(e);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new StorageException("cannot place " + target + ": " + e.getMessage(), false, e);
            }
            done = true;
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the scratch directory is removed with the job
                }
            }
        }
    }

    /** Bytes {@code [from, to)} into {@code out} at their offset; resumes a body that breaks off. */
    private void fetch(FileChannel out, long from, long to, BooleanSupplier stopped) throws StorageException {
        long position = from;
        int breaks = 0;
        while (position < to) {
            if (stopped.getAsBoolean()) {
                return;
            }
            GetObjectRequest.Builder request = GetObjectRequest.builder().bucket(bucket).key(object.key());
            if (object.etag() != null) {
                request.ifMatch('"' + object.etag() + '"');
            }
            if (position > 0 || to < object.size()) {
                request.range("bytes=" + position + "-" + (to - 1));
            }
            long start = position;
            ResponseInputStream<GetObjectResponse> in = get(request.build(), start, to);
            boolean complete = false;
            try {
                position = copy(in, out, start, to, stopped);
                if (position < to && !stopped.getAsBoolean()) {
                    // A body cut short without an error from the HTTP stack: never pass it on as the object.
                    throw new BodyBrokeOff(position, new IOException("truncated body: " + (position - start)
                            + " of " + (to - start) + " bytes"));
                }
                complete = position == to;
            } catch (BodyBrokeOff e) {
                position = e.position;
                if (++breaks >= BODY_ATTEMPTS) {
                    throw new StorageException(what + " failed: the response body broke off " + breaks
                            + " times (" + e.getCause().getMessage() + ")", true, e.getCause());
                }
                sleepBeforeRetry(breaks);
            } catch (IOException e) {
                throw localFailure(e);
            } finally {
                close(in, complete);
            }
        }
    }

    /** Closes a response; one not read to its end is aborted, not drained. */
    private static void close(ResponseInputStream<GetObjectResponse> in, boolean complete) {
        if (!complete) {
            in.abort();
        }
        try {
            in.close();
        } catch (IOException | RuntimeException ignored) {
            // the connection is discarded either way
        }
    }

    private ResponseInputStream<GetObjectResponse> get(GetObjectRequest request, long from, long to)
            throws StorageException {
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = S3Objects.call(what, () -> s3.getObject(request));
        } catch (StorageException e) {
            if (S3Objects.status(e) == 412) {
                throw new ObjectChangedException(bucket, object.key(), object.etag(), null, e);
            }
            throw e;
        }
        GetObjectResponse r = in.response();
        String etag = S3Objects.unquote(r.eTag());
        if (object.etag() != null && etag != null && !object.etag().equals(etag)) {
            in.abort();
            throw new ObjectChangedException(bucket, object.key(), object.etag(), etag, null);
        }
        Long length = r.contentLength();
        if (length != null && length != to - from) {
            in.abort();
            throw new StorageException(what + " failed: asked for bytes " + from + "-" + (to - 1) + " of "
                    + object.size() + ", the response has " + length + " bytes"
                    + (r.contentRange() != null ? " (" + r.contentRange() + ")" : ""), false, null);
        }
        return in;
    }

    /** Copies the body to {@code out} from {@code position} on, never past {@code to}; returns the end. */
    private long copy(InputStream in, FileChannel out, long position, long to, BooleanSupplier stopped)
            throws IOException {
        byte[] buffer = new byte[BUFFER_BYTES];
        while (position < to && !stopped.getAsBoolean()) {
            int n;
            try {
                n = in.read(buffer, 0, (int) Math.min(buffer.length, to - position));
            } catch (IOException | SdkClientException e) {
                throw new BodyBrokeOff(position, e instanceof IOException io ? io : new IOException(e.getMessage(), e));
            }
            if (n < 0) {
                return position;
            }
            ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
            while (chunk.hasRemaining()) {
                position += out.write(chunk, position);
            }
            received.accept(n);
        }
        return position;
    }

    private StorageException localFailure(IOException e) {
        return new StorageException("cannot write " + tmp + " (" + what + "): " + e.getMessage(), false, e);
    }

    private void sleepBeforeRetry(int attempt) throws StorageException {
        try {
            Thread.sleep(200L << (attempt - 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(what + " interrupted", true, e);
        }
    }

    /** Reading the response body failed (as opposed to writing the local copy) at {@code position}. */
    private static final class BodyBrokeOff extends IOException {
        final long position;

        BodyBrokeOff(long position, IOException cause) {
            super(cause);
            this.position = position;
        }
    }
}
