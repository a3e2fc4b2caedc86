package dev.mergeline.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.events.ObjectCreated;
import dev.mergeline.events.S3EventNotification;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.transfer.s3.S3TransferManager;

/**
 * The AWS SDK's own upload paths through the proxy (single PUT, multipart, CopyObject, the S3
 * transfer manager) each produce exactly the S3 event notification AWS would send — parsed here
 * by the same parser the functions use — and nothing else does.
 */
class S3NotificationProxyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static S3MockServer s3mock;
    private static HttpServer webhook;
    private static S3NotificationProxy proxy;
    private static final List<JsonNode> received = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        s3mock = S3MockServer.start(dir.resolve("s3"), 0, "mergeline");
        webhook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        webhook.createContext("/s3Trigger", ex -> {
            received.add(JSON.readTree(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        webhook.start();
        proxy = S3NotificationProxy.start(0, URI.create(s3mock.endpoint()),
                URI.create("http://127.0.0.1:" + webhook.getAddress().getPort() + "/s3Trigger"), "adapters/");
    }

    @AfterAll
    static void stop() {
        proxy.close();
        webhook.stop(0);
        s3mock.stop();
    }

    private static S3Client client() {
        return S3Client.builder().endpointOverride(URI.create("http://127.0.0.1:" + proxy.port())).forcePathStyle(true)
                .region(Region.US_EAST_1).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("foo", "bar"))).build();
    }

    @Test
    void everySdkUploadPathNotifiesOnceWithAwsShapedRecords(@TempDir Path tmp) throws Exception {
        received.clear();
        byte[] small = "{\"r\": 8}".getBytes();
        byte[] big = new byte[12 << 20];
        new Random(1).nextBytes(big);
        try (S3Client s3 = client()) {
            s3.putObject(b -> b.bucket("mergeline").key("adapters/a b+c/adapter_config.json"), RequestBody.fromBytes(small));
            s3.putObject(b -> b.bucket("mergeline").key("base-models/x/config.json"), RequestBody.fromBytes(small));

            String key = "adapters/mp/adapter_model.safetensors";
            String uploadId = s3.createMultipartUpload(b -> b.bucket("mergeline").key(key)).uploadId();
            String e1 = s3.uploadPart(b -> b.bucket("mergeline").key(key).uploadId(uploadId).partNumber(1),
                    RequestBody.fromBytes(java.util.Arrays.copyOf(big, 6 << 20))).eTag();
            String e2 = s3.uploadPart(b -> b.bucket("mergeline").key(key).uploadId(uploadId).partNumber(2),
                    RequestBody.fromBytes(java.util.Arrays.copyOfRange(big, 6 << 20, big.length))).eTag();
            s3.completeMultipartUpload(b -> b.bucket("mergeline").key(key).uploadId(uploadId).multipartUpload(
                    CompletedMultipartUpload.builder().parts(CompletedPart.builder().partNumber(1).eTag(e1).build(),
                            CompletedPart.builder().partNumber(2).eTag(e2).build()).build()));

            s3.copyObject(b -> b.sourceBucket("mergeline").sourceKey("base-models/x/config.json")
                    .destinationBucket("mergeline").destinationKey("adapters/copied/merge.json"));
        }
        Path file = Files.write(tmp.resolve("weights.bin"), big);
        try (S3AsyncClient async = S3AsyncClient.builder().multipartEnabled(true)
                .endpointOverride(URI.create("http://127.0.0.1:" + proxy.port())).forcePathStyle(true)
                .region(Region.US_EAST_1).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("foo", "bar"))).build();
                S3TransferManager tm = S3TransferManager.builder().s3Client(async).build()) {
            tm.uploadFile(b -> b.source(file).putObjectRequest(p -> p.bucket("mergeline")
                    .key("adapters/tm/adapter_model.safetensors"))).completionFuture().join();
        }
        awaitCount(4, Duration.ofSeconds(20));
        Thread.sleep(500); // nothing more may arrive
        assertEquals(4, received.size(), received.toString());

        List<ObjectCreated> records = received.stream()
                .flatMap(n -> S3EventNotification.parse(n).records().stream()).toList();
        ObjectCreated put = find(records, "adapters/a b+c/adapter_config.json");
        assertEquals("ObjectCreated:Put", put.eventName());
        assertEquals(small.length, put.size());
        assertTrue(received.toString().contains("\"key\":\"adapters/a+b%2Bc/adapter_config.json\""),
                "keys are URL-encoded as AWS does: " + received);
        ObjectCreated mp = find(records, "adapters/mp/adapter_model.safetensors");
        assertEquals("ObjectCreated:CompleteMultipartUpload", mp.eventName());
        assertEquals(big.length, mp.size());
        assertTrue(mp.eTag().endsWith("-2"), "multipart ETag: " + mp.eTag());
        assertEquals("ObjectCreated:Copy", find(records, "adapters/copied/merge.json").eventName());
        ObjectCreated tm = find(records, "adapters/tm/adapter_model.safetensors");
        assertEquals(big.length, tm.size());
        records.forEach(r -> assertEquals("mergeline", r.bucket()));
        assertEquals(4, records.stream().map(ObjectCreated::sequencer).distinct().count(), "sequencers are unique");
    }

    private static ObjectCreated find(List<ObjectCreated> records, String key) {
        return records.stream().filter(r -> r.key().equals(key)).findFirst()
                .orElseThrow(() -> new AssertionError("no notification for " + key + " in " + records));
    }

    private static void awaitCount(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (received.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }
}
