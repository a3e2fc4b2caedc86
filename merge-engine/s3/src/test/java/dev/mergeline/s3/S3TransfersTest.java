package dev.mergeline.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.devstack.FaultProxy;
import dev.mergeline.devstack.FaultProxy.Fault;
import dev.mergeline.devstack.S3MockServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Concurrent ranged downloads and multipart uploads against a real S3 API server (S3Mock, a child
 * JVM), directly and through {@link FaultProxy}: bytes identical by SHA-256, resumed bodies, aborted
 * uploads leave nothing, a replaced object is detected by its ETag.
 */
class S3TransfersTest {
    private static final String BUCKET = "mergeline";
    private static final long MIB = 1L << 20;
    /** The smallest part S3 allows, so that a few tens of MiB make many parts. */
    private static final TransferSettings PARALLEL = new TransferSettings(TransferSettings.MIN_PART_BYTES, 4);

    @TempDir
    static Path dir;
    private static S3MockServer server;
    private static S3Client direct;

    @BeforeAll
    static void start() {
        server = S3MockServer.start(dir.resolve("s3mock"), 0, BUCKET);
        direct = client(server.endpoint(), 4);
    }

    @AfterAll
    static void stop() {
        if (direct != null) {
            direct.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void multipartUploadAndRangedDownloadKeepEveryByte() throws Exception {
        Path file = randomFile("parts.bin", 23 * MIB + 12345, 1);
        S3Objects s3 = new S3Objects(direct, PARALLEL);
        String etag = s3.upload(file, BUCKET, "t/parts.bin", "application/octet-stream");
        // S3's ETag of a multipart object ends in "-<parts>": 23 MiB + change in 5 MiB parts is 5 parts.
        assertTrue(etag.endsWith("-5"), etag);
        assertEquals(Files.size(file), s3.bytesWritten());

        ObjectInfo info = s3.head(BUCKET, "t/parts.bin").orElseThrow();
        assertEquals(Files.size(file), info.size());
        assertEquals(etag, info.etag());
        Path copy = dir.resolve("parts.copy");
        s3.download(BUCKET, info, copy);
        assertArrayEquals(sha256(file), sha256(copy));
        assertEquals(info.size(), s3.bytesRead());
        assertFalse(Files.exists(dir.resolve(".parts.copy.part")));
    }

    @Test
    void smallObjectsMoveInOneRequestAndOneStreamWhenConcurrencyIsOne() throws Exception {
        Path file = randomFile("single.bin", 7 * MIB, 2);
        S3Objects sequential = new S3Objects(direct, new TransferSettings(8 * MIB, 1));
        String etag = sequential.upload(file, BUCKET, "t/single.bin", "application/octet-stream");
        assertFalse(etag.contains("-"), "one PUT, not a multipart upload: " + etag);
        Path big = randomFile("sequential.bin", 17 * MIB, 3);
        assertTrue(sequential.upload(big, BUCKET, "t/sequential.bin", "application/octet-stream").endsWith("-3"));
        for (String name : List.of("single.bin", "sequential.bin")) {
            Path copy = dir.resolve(name + ".copy");
            sequential.download(BUCKET, sequential.head(BUCKET, "t/" + name).orElseThrow(), copy);
            assertArrayEquals(sha256(dir.resolve(name)), sha256(copy), name);
        }
    }

    @Test
    void transfersReportEveryByteOnceAsItMoves() throws Exception {
        Path file = randomFile("progress.bin", 23 * MIB + 12345, 9);
        S3Objects s3 = new S3Objects(direct, PARALLEL);
        java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
        s3.upload(file, BUCKET, "t/progress.bin", "application/octet-stream", n -> {
            sent.addAndGet(n);
            sends.incrementAndGet();
        });
        assertEquals(Files.size(file), sent.get());
        assertEquals(5, sends.get(), "one report per part");

        java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger chunks = new java.util.concurrent.atomic.AtomicInteger();
        s3.download(BUCKET, s3.head(BUCKET, "t/progress.bin").orElseThrow(), dir.resolve("progress.copy"), n -> {
            received.addAndGet(n);
            chunks.incrementAndGet();
        });
        assertEquals(Files.size(file), received.get());
        assertTrue(chunks.get() > 5, "reported as chunks arrive, not per part: " + chunks.get());

        long small = 1000;
        Path one = randomFile("one.bin", small, 10);
        java.util.concurrent.atomic.AtomicLong put = new java.util.concurrent.atomic.AtomicLong();
        s3.upload(one, BUCKET, "t/one.bin", "application/octet-stream", put::addAndGet);
        assertEquals(small, put.get());
    }

    @Test
    void rangedDownloadAndMultipartUploadSurviveFaults() throws Exception {
        Path file = randomFile("flaky.bin", 41 * MIB, 4);
        new S3Objects(direct, PARALLEL).upload(file, BUCKET, "t/flaky.bin", "application/octet-stream");
        try (FaultProxy proxy = FaultProxy.start(URI.create(server.endpoint()));
                // Parts run concurrently, so one part's retries may each land on a failing turn: 8 attempts.
                S3Client flaky = client(proxy.endpoint(), 8)) {
            S3Objects s3 = new S3Objects(flaky, PARALLEL);
            ObjectInfo info = s3.head(BUCKET, "t/flaky.bin").orElseThrow();
            // Every third request fails: a body cut off halfway first, then a reset, 500 and 503.
            proxy.everyNth(3, Fault.TRUNCATE, Fault.RESET, Fault.HTTP_500, Fault.HTTP_503);
            Path copy = dir.resolve("flaky.copy");
            s3.download(BUCKET, info, copy);
            assertArrayEquals(sha256(file), sha256(copy));
            assertTrue(proxy.faults(Fault.TRUNCATE) >= 1, proxy.toString());
            assertTrue(proxy.faults() >= 3, proxy.toString());
            // A part cut off resumes where it broke off: not one byte is fetched twice.
            assertEquals(info.size(), s3.bytesRead());

            long before = proxy.faults();
            String etag = s3.upload(file, BUCKET, "t/flaky-up.bin", "application/octet-stream");
            assertTrue(proxy.faults() > before, "the upload met faults: " + proxy);
            proxy.heal();
            assertTrue(etag.endsWith("-9"), etag);
            Path back = dir.resolve("flaky-up.copy");
            s3.download(BUCKET, s3.head(BUCKET, "t/flaky-up.bin").orElseThrow(), back);
            assertArrayEquals(sha256(file), sha256(back));
        }
    }

    @Test
    void aFailedPartAbortsTheMultipartUploadAndLeavesNoObject() throws Exception {
        Path file = randomFile("aborted.bin", 16 * MIB, 5);
        try (FaultProxy proxy = FaultProxy.start(URI.create(server.endpoint()));
                S3Client flaky = client(proxy.endpoint(), 2)) {
            proxy.only("PUT", "[?&]partNumber=2(&|$)").down(Fault.HTTP_500);
            S3Objects s3 = new S3Objects(flaky, PARALLEL);
            StorageException e = assertThrows(StorageException.class,
                    () -> s3.upload(file, BUCKET, "t/aborted.bin", "application/octet-stream"));
            assertTrue(e.retriable(), "a 500 may pass: " + e.getMessage());
            assertTrue(e.getMessage().contains("upload part 2 of 4"), e.getMessage());
            assertEquals(0, e.getSuppressed().length, "the abort succeeded");
            assertEquals(2, proxy.faults(Fault.HTTP_500), "both attempts of part 2 failed");
            proxy.heal();
        }
        assertEquals(Optional.empty(), new S3Objects(direct).head(BUCKET, "t/aborted.bin"));
        assertTrue(direct.listMultipartUploads(b -> b.bucket(BUCKET).prefix("t/aborted.bin")).uploads().isEmpty(),
                "no multipart upload left in progress");
    }

    @Test
    void aReplacedObjectFailsTheDownloadAsChangedAndLeavesNoFile() throws Exception {
        Path first = randomFile("v1.bin", 12 * MIB, 6);
        S3Objects s3 = new S3Objects(direct, PARALLEL);
        s3.upload(first, BUCKET, "t/replaced.bin", "application/octet-stream");
        ObjectInfo listed = s3.head(BUCKET, "t/replaced.bin").orElseThrow();
        s3.upload(randomFile("v2.bin", 12 * MIB, 7), BUCKET, "t/replaced.bin", "application/octet-stream");

        Path target = dir.resolve("replaced.copy");
        ObjectChangedException e = assertThrows(ObjectChangedException.class,
                () -> s3.download(BUCKET, listed, target));
        assertFalse(e.retriable());
        assertEquals(listed.etag(), e.expectedEtag());
        assertFalse(Files.exists(target));
        assertFalse(Files.exists(dir.resolve(".replaced.copy.part")));
    }

    @Test
    void aLocalFileThatCannotBeWrittenIsNotRetriable() throws Exception {
        S3Objects s3 = new S3Objects(direct, PARALLEL);
        s3.upload(randomFile("local.bin", 6 * MIB, 8), BUCKET, "t/local.bin", "application/octet-stream");
        StorageException e = assertThrows(StorageException.class, () -> s3.download(BUCKET,
                s3.head(BUCKET, "t/local.bin").orElseThrow(), dir.resolve("no-such-dir").resolve("local.copy")));
        assertFalse(e.retriable());
        assertInstanceOf(IOException.class, e.getCause());
    }

    @Test
    void uploadPartsGrowToStayWithinTenThousandParts() {
        TransferSettings s = new TransferSettings(16 * MIB, 8);
        assertEquals(16 * MIB, s.uploadPartBytes(5_000_000_000L));
        assertEquals(16 * MIB, s.uploadPartBytes(10_000 * 16 * MIB));
        long part = s.uploadPartBytes(10_000 * 16 * MIB + 1);
        assertEquals(17 * MIB, part);
        assertTrue(TransferSettings.ceilDiv(10_000 * 16 * MIB + 1, part) <= TransferSettings.MAX_PARTS);
        assertThrows(IllegalArgumentException.class, () -> s.uploadPartBytes(TransferSettings.MAX_PARTS
                * TransferSettings.MAX_PART_BYTES + 1));
        assertThrows(IllegalArgumentException.class, () -> new TransferSettings(TransferSettings.MIN_PART_BYTES - 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new TransferSettings(16 * MIB, 0));
    }

    private static S3Client client(String endpoint, int maxAttempts) {
        return S3Clients.create(new S3Settings(Optional.of(URI.create(endpoint)), S3MockServer.REGION, true,
                Optional.of(S3MockServer.ACCESS_KEY), Optional.of(S3MockServer.SECRET_KEY), maxAttempts));
    }

    private static Path randomFile(String name, long size, long seed) throws IOException {
        Path file = dir.resolve(name);
        Random random = new Random(seed);
        byte[] block = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= block.length) {
                random.nextBytes(block);
                out.write(block, 0, (int) Math.min(block.length, left));
            }
        }
        return file;
    }

    private static byte[] sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return ((DigestInputStream) in).getMessageDigest().digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
