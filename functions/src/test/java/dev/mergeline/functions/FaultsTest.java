package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.output.Hashes;
import dev.mergeline.devstack.FaultProxy;
import dev.mergeline.devstack.FaultProxy.Fault;
import dev.mergeline.devstack.KafkaBroker;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Faults on real components: the functions (this Quarkus app, Funqy HTTP), a real Kafka broker,
 * S3Mock, and the packaged merge worker as child JVMs that the tests kill, stop and restart. Each
 * test proves one row of {@code docs/reliability.md}. Every adapter here has the same files, so
 * the same job id; outputs and events are told apart by adapter id ({@code merged/<id>/<jobId>/}).
 *
 * <p>Workers never overlap (they share the consumer group {@code mergeline-worker}): a test that
 * needs a differently configured worker stops the shared plain one first.
 */
@QuarkusTest
// Own broker (the topics exist before any worker subscribes, so no metadata wait); own Quarkus run.
@WithTestResource(value = KafkaTestResource.class, initArgs = @ResourceArg(name = "topics",
        value = "merge-requests,merged-model-ready,merge-failures"))
@WithTestResource(S3MockTestResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsTest {
    private static final String BASE = "tiny-llama";
    private static final String CASE = "llama-bf16-plain";
    private static final Duration LONG = Duration.ofSeconds(120);
    /** What the worker logs per merge, and per dropped duplicate request. */
    private static final String MERGED = " merged: ";
    private static final String DROPPED = "duplicate dropped";

    private static Outcomes outcomes;
    /** Scratch quota of the plain worker: between the footprints of a default and an fp32 job. */
    private static long scratchQuota;
    private static WorkerProcess plain;
    private static final List<WorkerProcess> started = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, PipelineFixtures.fixture(CASE, "base"), "base-models/" + BASE + "/");
        }
        long adapter = bytes(PipelineFixtures.fixture(CASE, "adapter"));
        long base = bytes(PipelineFixtures.fixture(CASE, "base"));
        // What the worker estimates (InputStaging.scratchBytesNeeded): inputs (adapter + base) + output (base, x2 for fp32, + adapter).
        long plainNeed = 2 * (adapter + mergeJson(null).length()) + 2 * base;
        long fp32Need = 2 * (adapter + mergeJson("fp32").length()) + 3 * base;
        scratchQuota = (plainNeed + fp32Need) / 2;
        outcomes = new Outcomes();
    }

    @AfterAll
    static void tearDown() throws Exception {
        for (WorkerProcess w : started) {
            w.close();
        }
        if (outcomes != null) {
            outcomes.close();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // 1. SIGKILL in the middle of a merge
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void workerKilledMidMergeIsRedeliveredAndCompletesExactlyOnce() throws Exception {
        String id = "killed";
        List<String> keys = uploadAdapter(id, mergeJson(null));

        WorkerProcess a = worker("kill-after-download", Map.of("MERGELINE_WORKER_TEST_DELAY_AFTER_DOWNLOAD", "60s"));
        trigger(keys);
        a.awaitLog("test delay of PT1M after download", LONG);
        a.kill();

        // The next worker gets the uncommitted request; it is killed again with everything but
        // MANIFEST.json uploaded: a half-published output that no reader may take as complete.
        WorkerProcess b = worker("kill-before-manifest", Map.of("MERGELINE_WORKER_TEST_DELAY_BEFORE_MANIFEST", "60s"));
        b.awaitLog("test delay of PT1M before MANIFEST.json", LONG);
        Set<String> halfDone = keys("merged/" + id + "/");
        assertFalse(halfDone.isEmpty(), "outputs were uploaded before the kill");
        assertTrue(halfDone.stream().noneMatch(k -> k.endsWith("MANIFEST.json")), halfDone.toString());
        b.kill();

        WorkerProcess c = plainWorker();
        MergedModelReady ready = outcomes.awaitReady(id, r -> true, LONG, c);
        outcomes.awaitRequestsCommitted(LONG, c);
        assertEquals(1, outcomes.ready(id).size(), "exactly one ready event");
        assertFalse(ready.reemitted());
        assertTrue(outcomes.failed(id).isEmpty());
        verifyOutput(id, ready);
    }

    // ---------------------------------------------------------------------------------------------
    // 2. The same notification 10 times concurrently; the two files in either order
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(2)
    void duplicateAndReorderedNotificationsMakeOneMergeAndOneReadyEvent() throws Exception {
        WorkerProcess w = plainWorker();
        long mergesBefore = w.count(MERGED);
        long droppedBefore = w.count(DROPPED);

        // The same S3 notification delivered 10 times at once.
        String dup = "dup-x10";
        List<String> dupKeys = uploadAdapter(dup, mergeJson(null));
        String notification = PipelineFixtures.notification(List.of(weightsKey(dupKeys)));
        ExecutorService pool = Executors.newFixedThreadPool(10);
        try {
            List<Future<String>> posts = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                posts.add(pool.submit(() -> postTrigger(notification)));
            }
            for (Future<String> f : posts) {
                assertTrue(f.get().contains("adapters/" + dup + "/"), f.get());
            }
        } finally {
            pool.shutdown();
        }

        String configFirst = "order-config-first";
        uploadInOrder(configFirst, "adapter_config.json", "adapter_model.safetensors");
        String weightsFirst = "order-weights-first";
        uploadInOrder(weightsFirst, "adapter_model.safetensors", "adapter_config.json");

        for (String id : List.of(dup, configFirst, weightsFirst)) {
            outcomes.awaitReady(id, r -> true, LONG, w);
        }
        outcomes.awaitRequestsCommitted(LONG, w);
        for (String id : List.of(dup, configFirst, weightsFirst)) {
            assertEquals(1, outcomes.ready(id).size(), id + ": exactly one ready event");
            assertFalse(outcomes.ready(id).get(0).reemitted(), id);
            assertTrue(outcomes.failed(id).isEmpty(), id);
            verifyOutput(id, outcomes.ready(id).get(0));
            assertEquals(1, keys("merged/" + id + "/.requests/").size(), id + ": one answered request");
        }
        assertEquals(3, w.count(MERGED) - mergesBefore, "one merge per adapter\n" + w.tail());
        assertEquals(9 + 1 + 1, w.count(DROPPED) - droppedBefore, "every repeat dropped\n" + w.tail());

        // A genuinely new upload of the same files (same ETags, same job) is a new request: the
        // complete job re-emits its ready event, flagged, without merging again.
        Thread.sleep(1100); // a later last-modified second
        String config = putFile("adapters/" + dup + "/", "adapter_config.json");
        trigger(List.of(config));
        MergedModelReady again = outcomes.awaitReady(dup, MergedModelReady::reemitted, LONG, w);
        assertEquals(outcomes.ready(dup).get(0).output().files(), again.output().files());
        outcomes.awaitRequestsCommitted(LONG, w);
        assertEquals(2, outcomes.ready(dup).size());
        assertEquals(1, keys("merged/" + dup + "/").stream().filter(k -> k.endsWith("MANIFEST.json")).count());
    }

    // ---------------------------------------------------------------------------------------------
    // 5. Scratch disk full
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(3)
    void scratchDiskFullFailsTheJobLeavesNothingAndTheWorkerServesTheNext() throws Exception {
        WorkerProcess w = plainWorker();
        String tooBig = "scratch-fp32";
        trigger(uploadAdapter(tooBig, mergeJson("fp32")));
        MergeFailed failed = outcomes.awaitFailed(tooBig, LONG, w);
        assertEquals("SCRATCH_DISK_FULL", failed.reasons().get(0).code(), failed.toString());
        assertTrue(failed.retriable());
        assertTrue(failed.reasons().get(0).message().contains("max-scratch-bytes " + scratchQuota), failed.toString());
        assertTrue(keys("merged/" + tooBig + "/").isEmpty(), "nothing partial visible");

        String fits = "scratch-fits";
        trigger(uploadAdapter(fits, mergeJson(null)));
        MergedModelReady ready = outcomes.awaitReady(fits, r -> true, LONG, w);
        outcomes.awaitRequestsCommitted(LONG, w);
        verifyOutput(fits, ready);
        assertEquals(1, outcomes.failed(tooBig).size());
        assertTrue(outcomes.ready(tooBig).isEmpty());
    }

    // ---------------------------------------------------------------------------------------------
    // 6. Graceful shutdown
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(4)
    void sigtermLetsTheCurrentMergeFinishOrHandsItBackUncommitted() throws Exception {
        stopPlainWorker();

        // Within the grace period: the merge finishes, its ready event goes out, then the worker exits.
        String finish = "sigterm-finish";
        WorkerProcess a = worker("sigterm-finish", Map.of("MERGELINE_WORKER_TEST_DELAY_AFTER_DOWNLOAD", "5s"));
        trigger(uploadAdapter(finish, mergeJson(null)));
        a.awaitLog("test delay of PT5S after download", LONG);
        a.terminate();
        assertTrue(a.awaitExit(Duration.ofSeconds(60)), a.tail());
        assertTrue(a.logged("stopping: waiting up to PT1M30S"), a.tail());
        MergedModelReady finished = outcomes.awaitReady(finish, r -> true, Duration.ofSeconds(30), a);
        assertFalse(finished.reemitted());
        outcomes.awaitRequestsCommitted(Duration.ofSeconds(30), a);
        verifyOutput(finish, finished);

        // Beyond the grace period: the merge is handed back uncommitted, the next worker does it.
        String handBack = "sigterm-hand-back";
        WorkerProcess b = worker("sigterm-hand-back", Map.of("MERGELINE_WORKER_TEST_DELAY_AFTER_DOWNLOAD", "60s",
                "MERGELINE_WORKER_SHUTDOWN_GRACE", "1s"));
        trigger(uploadAdapter(handBack, mergeJson(null)));
        b.awaitLog("test delay of PT1M after download", LONG);
        b.terminate();
        assertTrue(b.awaitExit(Duration.ofSeconds(60)), b.tail());
        assertTrue(b.logged("handing it back uncommitted"), b.tail());
        outcomes.poll(Duration.ofSeconds(1));
        assertTrue(outcomes.ready(handBack).isEmpty() && outcomes.failed(handBack).isEmpty(), "no outcome yet");

        WorkerProcess c = plainWorker();
        MergedModelReady redelivered = outcomes.awaitReady(handBack, r -> true, LONG, c);
        outcomes.awaitRequestsCommitted(LONG, c);
        assertFalse(redelivered.reemitted());
        assertEquals(1, outcomes.ready(handBack).size());
        assertEquals(1, outcomes.ready(finish).size());
        verifyOutput(handBack, redelivered);
    }

    // ---------------------------------------------------------------------------------------------
    // 3. Kafka broker stopped and restarted mid-run
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(5)
    void brokerStoppedAndRestartedMidRunLosesAndDuplicatesNothing() throws Exception {
        stopPlainWorker();
        WorkerProcess w = worker("broker-restart", Map.of("MERGELINE_WORKER_TEST_DELAY_AFTER_DOWNLOAD", "3s"));
        List<String> ids = List.of("broker-1", "broker-2", "broker-3");
        List<List<String>> keys = new ArrayList<>();
        for (String id : ids) {
            keys.add(uploadAdapter(id, mergeJson(null)));
        }
        trigger(keys.get(0));
        trigger(keys.get(1));
        w.awaitLog("test delay of PT3S after download", LONG);

        KafkaBroker broker = KafkaTestResource.broker();
        broker.stop();
        // A notification while the broker is down: the function waits for Kafka's acknowledgement (and
        // fails the invocation if it never comes, so that Lambda retries it) — here it is retried
        // until accepted, as Lambda would.
        CompletableFuture<String> during = CompletableFuture.supplyAsync(() -> {
            String notification = PipelineFixtures.notification(keys.get(2));
            for (int attempt = 1; ; attempt++) {
                try {
                    return postTrigger(notification);
                } catch (Exception e) {
                    if (attempt >= 4) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        });
        Thread.sleep(2000);
        broker.restart();
        assertTrue(during.get().contains("\"requested\":[\"s3://"), during.get());

        for (String id : ids) {
            outcomes.awaitReady(id, r -> true, LONG, w);
        }
        outcomes.awaitRequestsCommitted(LONG, w);
        for (String id : ids) {
            assertEquals(1, outcomes.ready(id).size(), id + ": exactly one ready event");
            assertFalse(outcomes.ready(id).get(0).reemitted(), id);
            assertTrue(outcomes.failed(id).isEmpty(), id);
            verifyOutput(id, outcomes.ready(id).get(0));
        }
        w.close();
    }

    // ---------------------------------------------------------------------------------------------
    // 4. S3 down for a while, S3 failing a fraction of requests, S3 down for good
    // ---------------------------------------------------------------------------------------------

    @Test
    @Order(6)
    void s3FaultsAreRetriedWithBackoffAndBoundedRetriesEndInMergeFailed() throws Exception {
        stopPlainWorker();
        try (FaultProxy proxy = FaultProxy.start(URI.create(S3MockTestResource.server().endpoint()))) {
            WorkerProcess w = worker("s3-faults", Map.of("MERGELINE_S3_ENDPOINT", proxy.endpoint(),
                    "MERGELINE_WORKER_JOB_ATTEMPTS", "3", "MERGELINE_WORKER_RETRY_BACKOFF", "1s"));

            // Down for a while: every request fails (503, resets) until the proxy heals.
            String outage = "s3-outage";
            List<String> outageKeys = uploadAdapter(outage, mergeJson(null));
            proxy.down();
            trigger(outageKeys);
            awaitFaults(proxy, 4, w);
            proxy.heal();
            MergedModelReady afterOutage = outcomes.awaitReady(outage, r -> true, LONG, w);
            assertFalse(afterOutage.reemitted());
            verifyOutput(outage, afterOutage);

            // Flaky: every third request fails — 500, 503, reset, or a response body cut off halfway.
            String flaky = "s3-flaky";
            List<String> flakyKeys = uploadAdapter(flaky, mergeJson(null));
            long before = proxy.faults();
            long truncated = proxy.faults(Fault.TRUNCATE);
            proxy.everyNth(3, Fault.HTTP_500, Fault.HTTP_503, Fault.RESET, Fault.TRUNCATE);
            trigger(flakyKeys);
            MergedModelReady afterFlaky = outcomes.awaitReady(flaky, r -> true, LONG, w);
            proxy.heal();
            assertTrue(proxy.faults() - before >= 5, "faults injected: " + (proxy.faults() - before));
            assertTrue(proxy.faults(Fault.TRUNCATE) > truncated, "a download was cut off and fetched again");
            verifyOutput(flaky, afterFlaky);

            // Down for good: bounded retries, then merge.failed STORAGE_UNAVAILABLE (retriable), nothing written.
            String down = "s3-down";
            List<String> downKeys = uploadAdapter(down, mergeJson(null));
            proxy.down(Fault.HTTP_500, Fault.RESET);
            trigger(downKeys);
            MergeFailed failed = outcomes.awaitFailed(down, LONG, w);
            proxy.heal();
            assertEquals("STORAGE_UNAVAILABLE", failed.reasons().get(0).code(), failed.toString());
            assertTrue(failed.retriable());
            assertEquals(3, failed.attempts());
            assertTrue(w.logged("storage failed"), w.tail());
            outcomes.awaitRequestsCommitted(LONG, w);
            assertTrue(keys("merged/" + down + "/").isEmpty());
            for (String id : List.of(outage, flaky)) {
                assertEquals(1, outcomes.ready(id).size(), id);
                assertTrue(outcomes.failed(id).isEmpty(), id);
            }
            assertTrue(outcomes.ready(down).isEmpty());
            w.close();
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static WorkerProcess worker(String name, Map<String, String> env) throws IOException {
        WorkerProcess w = WorkerProcess.start(name, env);
        started.add(w);
        return w;
    }

    /** The plain worker (no test delays, scratch quota set), started if not running. */
    private static WorkerProcess plainWorker() throws IOException {
        if (plain == null || !plain.isAlive()) {
            plain = worker("plain-" + started.size(), Map.of("MERGELINE_WORKER_MAX_SCRATCH_BYTES",
                    Long.toString(scratchQuota)));
        }
        return plain;
    }

    private static void stopPlainWorker() throws InterruptedException {
        if (plain != null) {
            plain.close();
            plain = null;
        }
    }

    private static void awaitFaults(FaultProxy proxy, long count, WorkerProcess w) throws InterruptedException {
        long deadline = System.nanoTime() + LONG.toNanos();
        while (proxy.faults() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the worker never reached S3 through the proxy\n" + w.tail());
            }
            Thread.sleep(100);
        }
    }

    private static String mergeJson(String dtype) {
        return dtype == null ? "{\"base\":\"" + BASE + "\"}" : "{\"base\":\"" + BASE + "\",\"dtype\":\"" + dtype + "\"}";
    }

    /** Uploads the fixture adapter and a merge.json to {@code adapters/<id>/}; returns the fixture files' keys. */
    private static List<String> uploadAdapter(String id, String mergeJson) throws IOException {
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", mergeJson);
            return PipelineFixtures.upload(s3, PipelineFixtures.fixture(CASE, "adapter"), "adapters/" + id + "/");
        }
    }

    private static void putText(String key, String content) {
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.put(s3, key, content);
        }
    }

    private static String putFile(String prefix, String name) {
        try (S3Client s3 = PipelineFixtures.s3()) {
            s3.putObject(b -> b.bucket("mergeline").key(prefix + name),
                    RequestBody.fromFile(PipelineFixtures.fixture(CASE, "adapter").resolve(name)));
        }
        return prefix + name;
    }

    /**
     * Uploads adapter {@code id}'s two files one at a time, notifying after each: the first alone is
     * incomplete, the second completes it; then the first one's notification arrives once more, late.
     */
    private static void uploadInOrder(String id, String first, String second) throws IOException, InterruptedException {
        String prefix = "adapters/" + id + "/";
        putText(prefix + "merge.json", mergeJson(null));
        String firstKey = putFile(prefix, first);
        assertTrue(postTrigger(PipelineFixtures.notification(List.of(firstKey))).contains("\"incomplete\":[\"s3://"));
        String secondKey = putFile(prefix, second);
        assertTrue(postTrigger(PipelineFixtures.notification(List.of(secondKey))).contains("\"requested\":[\"s3://"));
        assertTrue(postTrigger(PipelineFixtures.notification(List.of(firstKey))).contains("\"requested\":[\"s3://"));
    }

    private static String weightsKey(List<String> keys) {
        return keys.stream().filter(k -> k.endsWith("adapter_model.safetensors")).findFirst().orElseThrow();
    }

    private static void trigger(List<String> keys) {
        given().contentType("application/json").body(PipelineFixtures.notification(keys)).post("/s3Trigger")
                .then().statusCode(200);
    }

    /** POSTs a notification to the S3 trigger (any thread); returns the intake summary JSON. */
    private static String postTrigger(String notification) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://localhost:" + RestAssured.port + "/s3Trigger"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(notification)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("s3Trigger answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static Set<String> keys(String prefix) {
        try (S3Client s3 = PipelineFixtures.s3()) {
            Set<String> keys = new TreeSet<>();
            s3.listObjectsV2Paginator(b -> b.bucket("mergeline").prefix(prefix)).contents()
                    .forEach((S3Object o) -> keys.add(o.key()));
            return keys;
        }
    }

    /**
     * The ready event's files are in S3 with its sizes and SHA-256s; the job prefix holds exactly those
     * files and MANIFEST.json — nothing a reader could mistake for output — and the adapter has
     * exactly one MANIFEST.json.
     */
    private static void verifyOutput(String id, MergedModelReady event) throws IOException {
        assertEquals("merged/" + id + "/" + event.jobId() + "/", event.output().prefix());
        Set<String> expected = new TreeSet<>();
        try (S3Client s3 = PipelineFixtures.s3()) {
            Path dir = Files.createTempDirectory("mergeline-faults-");
            for (OutputFile f : event.output().files()) {
                Path local = dir.resolve(f.key().substring(f.key().lastIndexOf('/') + 1));
                s3.getObject(b -> b.bucket(event.output().bucket()).key(f.key()), local);
                assertEquals(f.bytes(), Files.size(local), f.key());
                assertEquals(f.sha256(), Hashes.sha256(local, Long.MAX_VALUE), f.key());
                expected.add(f.key());
            }
        }
        assertEquals(14, event.counts().merged());
        expected.add(event.output().prefix() + "MANIFEST.json");
        assertEquals(expected, keys(event.output().prefix()), "job prefix holds exactly the output");
        assertEquals(1, keys("merged/" + id + "/").stream().filter(k -> k.endsWith("/MANIFEST.json")).count());
    }

    private static long bytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path f : files.toList()) {
                total += Files.size(f);
            }
            return total;
        }
    }
}
