package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.MergeExecutor;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.output.Hashes;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.BaseRef;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.s3.StorageException;
import dev.mergeline.worker.InMemoryObjectStore.Op;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The merge job recipe with an object store in memory and a recording publisher as its edges, a
 * real scratch directory and the reference kernel: one test per way a job ends.
 */
class MergeJobTest {
    private static final String BUCKET = "mergeline";
    private static final String CASE = "llama-bf16-plain";
    private static final String ADAPTER_ID = "support-lora";
    private static final String JOB_ID = "0123456789abcdef0123456789abcdef";
    private static final String OUT = "merged/" + ADAPTER_ID + "/" + JOB_ID + "/";
    private static final String REQUEST = "request-1";

    @TempDir
    Path scratchRoot;

    private final InMemoryObjectStore store = new InMemoryObjectStore(BUCKET);
    private final RecordingJobEvents events = new RecordingJobEvents();
    private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    private final JobLifecycle lifecycle = new JobLifecycle();
    private ScratchSpace scratch;
    private MergeRequested job;

    @BeforeEach
    void upload() throws IOException {
        scratch = ScratchSpace.open(scratchRoot);
        Path fixture = PeftFixtures.caseDir(CASE);
        String adapterPrefix = "adapters/" + ADAPTER_ID + "/";
        String basePrefix = "base-models/tiny-llama/";
        Map<String, String> adapterEtags = store.putDir(fixture.resolve("adapter"), adapterPrefix);
        Map<String, String> baseEtags = store.putDir(fixture.resolve("base"), basePrefix);
        job = new MergeRequested(JOB_ID, new AdapterRef(BUCKET, adapterPrefix, ADAPTER_ID, adapterEtags, "LORA", 8,
                null), new BaseRef("tiny-llama", BUCKET, basePrefix, "ab".repeat(32), baseEtags), MergeOptions.DEFAULTS,
                0);
    }

    @AfterEach
    void close() throws IOException {
        scratch.close();
    }

    private JobSettings settings(Optional<Long> maxScratchBytes, Duration delayBeforeManifest) {
        return new JobSettings(BUCKET, 3, Duration.ofMillis(1), Duration.ZERO,
                InputLimits.orDefaults(OptionalLong.empty(), OptionalLong.empty(), OptionalInt.empty()),
                MergeExecutor.DEFAULT_BLOCK_BYTES, new InputStaging.ScratchBudget(maxScratchBytes, 0), Duration.ZERO, delayBeforeManifest);
    }

    private MergeJob recipe() {
        return recipe(settings(Optional.empty(), Duration.ZERO));
    }

    private MergeJob recipe(JobSettings settings) {
        return new MergeJob(settings, store, events, new ReferenceMergeKernel(), metrics, scratch, lifecycle);
    }

    private double merges(MergeJob.Outcome outcome) {
        return metrics.counter("mergeline.merges", "outcome", outcome.tag()).count();
    }

    private MergeFailed onlyFailure() {
        assertTrue(events.ready.isEmpty(), "no ready event");
        assertEquals(1, events.failed.size(), events.failed.toString());
        return events.failed.get(0);
    }

    private void assertNothingLeft() throws IOException {
        assertTrue(store.keys("merged/").isEmpty(), store.keys("merged/").toString());
        assertFalse(Files.exists(scratch.jobDir(JOB_ID)), "the job's scratch is removed");
    }

    @Test
    void aNewJobUploadsTheManifestLastPublishesReadyAndRecordsTheRequest() throws IOException {
        assertEquals(MergeJob.Outcome.MERGED, recipe().run(job, REQUEST));

        assertEquals(1, events.ready.size());
        assertTrue(events.failed.isEmpty());
        MergedModelReady ready = events.ready.get(0);
        assertFalse(ready.reemitted());
        assertEquals(OUT, ready.output().prefix());
        String marker = "merged/" + ADAPTER_ID + "/.requests/" + JOB_ID + "/" + REQUEST;
        List<String> writes = store.writes();
        assertEquals(OUT + Manifest.FILE_NAME, writes.get(writes.size() - 2), writes.toString());
        assertEquals(marker, writes.get(writes.size() - 1));
        Path uploaded = Files.createDirectories(scratchRoot.resolve("uploaded"));
        for (OutputFile f : ready.output().files()) { // the event describes the bytes in the store
            byte[] stored = store.bytes(f.key());
            assertEquals(f.bytes(), stored.length, f.key());
            assertEquals(f.sha256(), Hashes.sha256(stored), f.key());
            Files.write(uploaded.resolve(f.key().substring(OUT.length())), stored);
        }
        PeftFixtures.assertMatchesPeft(CASE, uploaded);
        assertEquals(List.of("downloadMs", "mergeMs", "uploadMs", "totalMs"), List.copyOf(ready.timingsMs().keySet()));
        assertTrue(events.progress.stream().anyMatch(p -> p.phase() == MergeProgress.Phase.UPLOAD));
        assertEquals(1, merges(MergeJob.Outcome.MERGED));
        assertFalse(Files.exists(scratch.jobDir(JOB_ID)), "the job's scratch is removed");
    }

    @Test
    void aRepeatedRequestForACompleteJobIsDroppedWithoutAnEvent() {
        recipe().run(job, REQUEST);
        List<String> writes = store.writes();

        assertEquals(MergeJob.Outcome.DUPLICATE, recipe().run(job, REQUEST));
        assertEquals(1, events.ready.size(), "only the first request's event");
        assertEquals(writes, store.writes(), "nothing written again");
        assertEquals(1, merges(MergeJob.Outcome.DUPLICATE));
    }

    @Test
    void aNewRequestForACompleteJobReemitsItsReadyEventWithoutMerging() {
        recipe().run(job, REQUEST);
        int written = store.writes().size();

        assertEquals(MergeJob.Outcome.REEMITTED, recipe().run(job, "request-2"));
        assertEquals(2, events.ready.size());
        MergedModelReady again = events.ready.get(1);
        assertTrue(again.reemitted());
        assertEquals(events.ready.get(0).output(), again.output());
        assertEquals(List.of("merged/" + ADAPTER_ID + "/.requests/" + JOB_ID + "/request-2"),
                store.writes().subList(written, store.writes().size()), "only the new request's marker");
    }

    @Test
    void transientStorageFailuresAreRetriedAndTheJobCompletes() {
        store.failNext(Op.DOWNLOAD, new StorageException("get failed: HTTP 503", true, null));
        store.failNext(Op.UPLOAD, new StorageException("put failed: HTTP 503", true, null));

        assertEquals(MergeJob.Outcome.MERGED, recipe().run(job, REQUEST));
        assertEquals(1, events.ready.size());
        assertTrue(events.failed.isEmpty());
    }

    @Test
    void storageFailingOnEveryAttemptEndsInARetriableStorageUnavailable() throws IOException {
        for (int i = 0; i < 3; i++) {
            store.failNext(Op.LIST, new StorageException("list failed: HTTP 503", true, null));
        }

        assertEquals(MergeJob.Outcome.FAILED, recipe().run(job, REQUEST));
        MergeFailed failed = onlyFailure();
        assertEquals("STORAGE_UNAVAILABLE", failed.reasons().get(0).code());
        assertTrue(failed.retriable());
        assertEquals(3, failed.attempts());
        assertNothingLeft();
    }

    @Test
    void aPermanentStorageFailureIsNotRetried() {
        store.failNext(Op.LIST, new StorageException("list failed: access denied", false, null));

        recipe().run(job, REQUEST);
        MergeFailed failed = onlyFailure();
        assertEquals("STORAGE_UNAVAILABLE", failed.reasons().get(0).code());
        assertFalse(failed.retriable());
        assertEquals(1, failed.attempts());
    }

    @Test
    void anInputReplacedSinceValidationRejectsTheJob() throws IOException {
        store.put(job.adapter().prefix() + "adapter_config.json", "{}".getBytes(StandardCharsets.UTF_8));

        assertEquals(MergeJob.Outcome.REJECTED, recipe().run(job, REQUEST));
        MergeFailed failed = onlyFailure();
        assertEquals("ADAPTER_FILES_MISSING", failed.reasons().get(0).code());
        assertEquals(job.adapter().etags().get("adapter_config.json"), failed.reasons().get(0).expected());
        assertFalse(failed.retriable());
        assertEquals(1, merges(MergeJob.Outcome.REJECTED));
        assertNothingLeft();
    }

    @Test
    void inputsTheEngineRefusesRejectTheJobWithTheirReasons() throws IOException {
        String config = job.base().prefix() + "config.json";
        store.put(config, "{\"model_type\": ".getBytes(StandardCharsets.UTF_8));
        Map<String, String> etags = new java.util.TreeMap<>(job.base().etags());
        etags.put("config.json", store.list(BUCKET, config).get(0).etag());
        job = new MergeRequested(JOB_ID, job.adapter(), new BaseRef(job.base().name(), BUCKET, job.base().prefix(),
                job.base().identity(), etags), job.options(), 0);

        assertEquals(MergeJob.Outcome.REJECTED, recipe().run(job, REQUEST));
        MergeFailed failed = onlyFailure();
        assertEquals("BASE_MODEL_UNKNOWN", failed.reasons().get(0).code(), failed.toString());
        assertNothingLeft();
    }

    @Test
    void aJobThatCannotFitTheScratchBudgetFailsBeforeDownloading() throws IOException {
        assertEquals(MergeJob.Outcome.FAILED, recipe(settings(Optional.of(1000L), Duration.ZERO)).run(job, REQUEST));
        MergeFailed failed = onlyFailure();
        assertEquals("SCRATCH_DISK_FULL", failed.reasons().get(0).code());
        assertTrue(failed.retriable());
        assertTrue(failed.reasons().get(0).message().contains("max-scratch-bytes 1000"), failed.toString());
        assertEquals(0, store.bytesRead(), "nothing downloaded");
        assertNothingLeft();
    }

    @Test
    void aFullDiskDuringTheDownloadIsReportedAsSuch() throws IOException {
        store.failNext(Op.DOWNLOAD, new StorageException("cannot write /scratch/x: No space left on device", false,
                null));

        recipe().run(job, REQUEST);
        MergeFailed failed = onlyFailure();
        assertEquals("SCRATCH_DISK_FULL", failed.reasons().get(0).code());
        assertTrue(failed.retriable());
        assertNothingLeft();
    }

    @Test
    void anUnexpectedErrorEndsInAnInternalError() throws IOException {
        store.failNext(Op.HEAD, new IllegalStateException("bug"));

        assertEquals(MergeJob.Outcome.FAILED, recipe().run(job, REQUEST));
        MergeFailed failed = onlyFailure();
        assertEquals("INTERNAL_ERROR", failed.reasons().get(0).code());
        assertTrue(failed.reasons().get(0).message().contains("bug"), failed.toString());
        assertFalse(failed.retriable());
        assertNothingLeft();
    }

    @Test
    void anOutcomeTheBrokerDoesNotAcknowledgeHandsTheJobBackAndRecordsNoAnswer() {
        events.refuseOutcomes();

        assertThrows(JobHandedBack.class, () -> recipe().run(job, REQUEST));
        assertTrue(store.keys("merged/" + ADAPTER_ID + "/.requests/").isEmpty(), "not answered");
        assertEquals(1, merges(MergeJob.Outcome.HANDED_BACK));
    }

    @Test
    void aJobStillRunningWhenTheGraceEndsIsHandedBackWithoutItsManifest() throws Exception {
        MergeJob slow = recipe(settings(Optional.empty(), Duration.ofMinutes(5)));
        CompletableFuture<Throwable> ended = CompletableFuture.supplyAsync(() -> {
            try {
                slow.run(job, REQUEST);
                return null;
            } catch (RuntimeException e) {
                return e;
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!store.writes().contains(OUT + "model.safetensors") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        lifecycle.drain(Duration.ofMillis(50));

        assertTrue(ended.get(10, TimeUnit.SECONDS) instanceof JobHandedBack, String.valueOf(ended.get()));
        assertTrue(events.ready.isEmpty() && events.failed.isEmpty(), "no outcome event");
        assertFalse(store.keys(OUT).contains(OUT + Manifest.FILE_NAME), store.keys(OUT).toString());
        assertFalse(lifecycle.busy());
        assertThrows(JobHandedBack.class, () -> recipe().run(job, "request-2"), "no new job starts");
    }
}
