package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.output.Hashes;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockServer;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The whole pipeline through real infrastructure: fixture adapter uploaded to S3Mock → S3
 * notification into the function (Funqy HTTP) → {@code merge-requests} on a real Kafka broker →
 * the packaged merge worker (a child JVM, as deployed) → merged files in S3 →
 * {@code merged-model-ready} read by a plain KafkaConsumer, hashes checked against the files; for a
 * mixture-of-experts and a vision-language upload, the merged tensors against PEFT's and the
 * processor files in the output.
 * Faults (killed workers, duplicates, broker restarts, S3 failures, full disks, SIGTERM) are
 * {@link FaultsTest}'s.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class EndToEndTest {
    private static final String BASE = "tiny-llama";
    private static Process worker;
    private static Path workerLog;

    @BeforeAll
    static void startWorker() throws Exception {
        Path jar = Path.of("../merge-engine/worker/target/quarkus-app/quarkus-run.jar").toAbsolutePath().normalize();
        assertTrue(Files.exists(jar), "build the worker first (./mvnw -B install -pl merge-engine/worker -am): " + jar);
        workerLog = Files.createTempFile("mergeline-worker-", ".log");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", jar.toString());
        Map<String, String> env = pb.environment();
        env.put("KAFKA_BOOTSTRAP_SERVERS", KafkaTestResource.broker().bootstrapServers());
        env.put("MERGELINE_S3_ENDPOINT", S3MockTestResource.server().endpoint());
        env.put("MERGELINE_S3_PATH_STYLE", "true");
        env.put("MERGELINE_S3_ACCESS_KEY", S3MockServer.ACCESS_KEY);
        env.put("MERGELINE_S3_SECRET_KEY", S3MockServer.SECRET_KEY);
        env.put("MERGELINE_WORKER_SCRATCH_DIR", Files.createTempDirectory("mergeline-scratch-").toString());
        env.put("QUARKUS_HTTP_PORT", Integer.toString(port));
        pb.redirectErrorStream(true).redirectOutput(workerLog.toFile());
        worker = pb.start();
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "base"), "base-models/" + BASE + "/");
        }
    }

    @AfterAll
    static void stopWorker() throws Exception {
        if (worker != null) {
            worker.destroy();
            worker.waitFor();
        }
    }

    @Test
    void uploadedAdapterBecomesAVerifiedMergedModelExactlyOnce() throws Exception {
        String id = "e2e";
        List<String> keys;
        try (S3Client s3 = PipelineFixtures.s3()) {
            keys = PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "adapter"),
                    "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + BASE + "\"}");
        }
        try (KafkaConsumer<String, byte[]> ready = PipelineFixtures.consumer("merged-model-ready")) {
            String notification = PipelineFixtures.notification(keys);
            given().contentType("application/json").body(notification).post("/s3Trigger").then().statusCode(200);
            List<CloudEvent<MergedModelReady>> first = awaitReady(ready, id);
            assertEquals(1, first.size(), "no ready event; worker log: " + tail());
            MergedModelReady event = first.get(0).data();
            assertFalse(event.reemitted());
            assertEquals(14, event.counts().merged());
            verifyFiles(event);

            // The same notification again (at-least-once delivery): the same request, dropped by the
            // worker — no second merge, no second ready event.
            given().contentType("application/json").body(notification).post("/s3Trigger").then().statusCode(200);
            assertTrue(awaitReady(ready, id, Duration.ofSeconds(5)).isEmpty(), "a duplicate was answered");

            // A new upload of the same files: a new request for the complete job, whose ready event is
            // re-emitted (flagged) without merging again.
            Thread.sleep(1100); // a later last-modified second
            try (S3Client s3 = PipelineFixtures.s3()) {
                PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "adapter"), "adapters/" + id + "/");
            }
            given().contentType("application/json").body(notification).post("/s3Trigger").then().statusCode(200);
            List<CloudEvent<MergedModelReady>> second = awaitReady(ready, id);
            assertEquals(1, second.size(), "no re-emitted event; worker log: " + tail());
            assertTrue(second.get(0).data().reemitted());
            assertEquals(event.jobId(), second.get(0).data().jobId());
            assertEquals(event.output().files(), second.get(0).data().output().files());
        }
    }

    /**
     * A mixture-of-experts adapter with {@code target_parameters} on the fused experts (split back into the
     * checkpoint's per-expert tensors) and a vision-language adapter whose base carries processor and
     * chat-template files: each upload ends in what PEFT's {@code merge_and_unload()} and
     * {@code save_pretrained()} wrote, with the base's non-weight files byte for byte in {@code merged/}.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mixtral-experts", "idefics2-tutorial-regex"})
    void uploadOfAnArchitectureFamilyMergesAsPeftAndKeepsTheBaseFiles(String caseName) throws Exception {
        String id = "e2e-" + caseName;
        String base = "e2e-base-" + caseName;
        List<String> keys;
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, PipelineFixtures.fixture(caseName, "base"), "base-models/" + base + "/");
            keys = PipelineFixtures.upload(s3, PipelineFixtures.fixture(caseName, "adapter"), "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + base + "\"}");
        }
        try (KafkaConsumer<String, byte[]> ready = PipelineFixtures.consumer("merged-model-ready")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys)).post("/s3Trigger")
                    .then().statusCode(200);
            List<CloudEvent<MergedModelReady>> events = awaitReady(ready, id);
            assertEquals(1, events.size(), "no ready event; worker log: " + tail());
            MergedModelReady event = events.get(0).data();
            Path merged = verifyFiles(event);
            PeftFixtures.assertMatchesPeft(caseName, merged);

            Path baseDir = PipelineFixtures.fixture(caseName, "base");
            Set<String> announced = new TreeSet<>();
            event.output().files().forEach(f -> announced.add(f.key().substring(f.key().lastIndexOf('/') + 1)));
            for (String file : nonWeightFiles(baseDir)) {
                assertTrue(announced.contains(file), file + " is not in the ready event's files " + announced);
                assertArrayEquals(Files.readAllBytes(baseDir.resolve(file)), Files.readAllBytes(merged.resolve(file)),
                        file + " differs from the base's");
            }
        }
    }

    /** The base's files other than weights and {@code config.json} (which the merge writes itself). */
    private static List<String> nonWeightFiles(Path baseDir) throws IOException {
        try (Stream<Path> files = Files.list(baseDir)) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> !n.endsWith(".safetensors") && !n.equals("config.json"))
                    .sorted().toList();
        }
    }

    @Test
    void rejectedAdapterYieldsOneRejectionAndNoOutput() throws Exception {
        String id = "e2e-rejected";
        List<String> keys;
        try (S3Client s3 = PipelineFixtures.s3();
                KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            keys = PipelineFixtures.upload(s3, PipelineFixtures.fixture("gpt2-conv1d", "adapter"), "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + BASE + "\"}");
            given().contentType("application/json").body(PipelineFixtures.notification(keys)).post("/s3Trigger")
                    .then().statusCode(200);
            List<CloudEvent<AdapterRejected>> events = PipelineFixtures.await(failures, id, AdapterRejected.class, 2,
                    Duration.ofSeconds(10));
            assertEquals(1, events.size());
            assertEquals("ARCHITECTURE_MISMATCH", events.get(0).data().reasons().get(0).code());
            assertTrue(s3.listObjectsV2(b -> b.bucket("mergeline").prefix("merged/" + id + "/")).contents().isEmpty());
        }
    }

    /**
     * The next ready event for adapter {@code id}. Other tests of this Quarkus run share the broker and
     * publish requests for other adapter ids (with the same files, hence the same jobId), so filter.
     */
    private static List<CloudEvent<MergedModelReady>> awaitReady(KafkaConsumer<String, byte[]> consumer, String id) {
        return awaitReady(consumer, id, Duration.ofSeconds(120));
    }

    private static List<CloudEvent<MergedModelReady>> awaitReady(KafkaConsumer<String, byte[]> consumer, String id,
            Duration timeout) {
        List<CloudEvent<MergedModelReady>> found = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (found.isEmpty() && System.nanoTime() < deadline) {
            for (var r : consumer.poll(Duration.ofMillis(500))) {
                var event = dev.mergeline.events.EventCodec.instance().decode(r.value(), MergedModelReady.class);
                if (event.data().adapter().id().equals(id)) {
                    found.add(event);
                }
            }
        }
        return found;
    }

    /**
     * Every file in the event exists in S3 with the announced size and SHA-256; MANIFEST.json is there.
     * Returns the local directory the files were downloaded to.
     */
    private static Path verifyFiles(MergedModelReady event) throws IOException {
        try (S3Client s3 = PipelineFixtures.s3()) {
            Path dir = Files.createTempDirectory("mergeline-e2e-");
            for (OutputFile f : event.output().files()) {
                Path local = dir.resolve(f.key().substring(f.key().lastIndexOf('/') + 1));
                s3.getObject(b -> b.bucket(event.output().bucket()).key(f.key()), local);
                assertEquals(f.bytes(), Files.size(local), f.key());
                assertEquals(f.sha256(), Hashes.sha256(local, Long.MAX_VALUE), f.key());
            }
            assertTrue(event.output().files().stream().anyMatch(f -> f.key().endsWith("model.safetensors")));
            s3.headObject(b -> b.bucket(event.output().bucket()).key(event.output().prefix() + "MANIFEST.json"));
            return dir;
        }
    }

    private static String tail() {
        try {
            List<String> lines = Files.readAllLines(workerLog);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
