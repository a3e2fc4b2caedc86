package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.S3Object;

class S3MockServerTest {

    @TempDir
    Path stateDir;

    @Test
    void putGetListRangeAndMultipart() {
        long t0 = System.nanoTime();
        S3MockServer server = S3MockServer.start(stateDir, 0, "mergeline");
        System.out.printf("S3MockServer start: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        try (S3Client s3 = client(server)) {
            assertTrue(server.endpoint().startsWith("http://127.0.0.1:"));
            // The Spring Boot jar runs as `java -jar`, never on this classpath (Surefire excludes it).
            assertFalse(System.getProperty("java.class.path").contains("s3mock"));
            assertTrue(s3.listBuckets().buckets().stream().anyMatch(b -> b.name().equals("mergeline")));

            String key = "adapters/my adapter+v1/adapter config+1.json";
            byte[] body = "{\"r\": 8, \"lora_alpha\": 16}".getBytes(StandardCharsets.UTF_8);
            String etag = s3.putObject(b -> b.bucket("mergeline").key(key), RequestBody.fromBytes(body)).eTag();
            assertFalse(etag.isEmpty());

            assertArrayEquals(body, s3.getObjectAsBytes(b -> b.bucket("mergeline").key(key)).asByteArray());

            var ranged = s3.getObjectAsBytes(b -> b.bucket("mergeline").key(key).range("bytes=0-7"));
            assertArrayEquals(Arrays.copyOf(body, 8), ranged.asByteArray());
            assertEquals("bytes 0-7/" + body.length, ranged.response().contentRange());

            List<String> keys = s3.listObjectsV2(b -> b.bucket("mergeline").prefix("adapters/my adapter+v1/"))
                    .contents().stream().map(S3Object::key).toList();
            assertEquals(List.of(key), keys);

            // Multipart: a 5 MiB part (S3's minimum for all but the last) and a small last part.
            byte[] part1 = new byte[5 * 1024 * 1024];
            byte[] part2 = new byte[1234];
            new Random(42).nextBytes(part1);
            new Random(43).nextBytes(part2);
            String mpKey = "base-models/tiny llama+x/model.safetensors";
            String uploadId = s3.createMultipartUpload(b -> b.bucket("mergeline").key(mpKey)).uploadId();
            List<CompletedPart> parts = new ArrayList<>();
            byte[][] chunks = {part1, part2};
            for (int i = 0; i < chunks.length; i++) {
                int n = i + 1;
                String partEtag = s3.uploadPart(b -> b.bucket("mergeline").key(mpKey).uploadId(uploadId).partNumber(n),
                        RequestBody.fromBytes(chunks[i])).eTag();
                parts.add(CompletedPart.builder().partNumber(n).eTag(partEtag).build());
            }
            s3.completeMultipartUpload(b -> b.bucket("mergeline").key(mpKey).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
            byte[] whole = s3.getObjectAsBytes(b -> b.bucket("mergeline").key(mpKey)).asByteArray();
            assertEquals(part1.length + part2.length, whole.length);
            assertArrayEquals(part1, Arrays.copyOfRange(whole, 0, part1.length));
            assertArrayEquals(part2, Arrays.copyOfRange(whole, part1.length, whole.length));
            var tail = s3.getObjectAsBytes(b -> b.bucket("mergeline").key(mpKey)
                    .range("bytes=" + (part1.length - 4) + "-" + (part1.length + 3)));
            assertArrayEquals(Arrays.copyOfRange(whole, part1.length - 4, part1.length + 4), tail.asByteArray());

            long pid = server.process().orElseThrow().pid();
            server.kill();
            assertFalse(server.isRunning());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        } finally {
            server.stop();
        }
    }

    @Test
    void refusesAPortInUse() throws Exception {
        try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> S3MockServer.start(stateDir.resolve("busy"), taken.getLocalPort(), "mergeline"));
            assertTrue(e.getMessage().contains("already in use"), e.getMessage());
        }
    }

    static S3Client client(S3MockServer server) {
        return S3Client.builder()
                .endpointOverride(URI.create(server.endpoint()))
                .region(Region.of(S3MockServer.REGION))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3MockServer.ACCESS_KEY, S3MockServer.SECRET_KEY)))
                .forcePathStyle(true)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }
}
