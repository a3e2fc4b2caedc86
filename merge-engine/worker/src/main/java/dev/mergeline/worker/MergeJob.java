package dev.mergeline.worker;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.VerificationReport;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.EngineRef;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeProgress.Phase;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.events.OutputRef;
import dev.mergeline.events.Verification;
import dev.mergeline.quarkus.WireMapping;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.ObjectStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.jboss.logging.Logger;

/**
 * The recipe of one merge job: skip (re-emit) if its output is complete, else stage base and adapter
 * in scratch, merge with the core engine, upload the checkpoint with MANIFEST.json last, emit ready.
 * Permanent failures emit {@code merge.failed}; transient storage failures are retried with backoff
 * first ({@link JobFailures}). Every job ends in exactly one outcome event — or, when the worker is
 * stopped in the middle, in {@link JobHandedBack} ({@link JobLifecycle}).
 *
 * <p>A request for a complete job whose id is already answered ({@link AnsweredRequests}) is dropped
 * silently; a new request for a complete job re-emits its ready event ({@code reemitted=true}).
 */
final class MergeJob {
    private static final Logger LOG = Logger.getLogger(MergeJob.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    /** How long a job's outcome waits for its progress events to reach the broker (best effort). */
    private static final Duration PROGRESS_FLUSH = Duration.ofSeconds(5);
    private static final long MAX_MANIFEST_BYTES = 16L << 20;

    /** How a job ended, as counted in {@code mergeline_merges_total{outcome}}. */
    enum Outcome {
        MERGED, REEMITTED, DUPLICATE, REJECTED, FAILED, HANDED_BACK;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final JobSettings settings;
    private final ObjectStore store;
    private final JobEvents events;
    private final MergeKernel kernel;
    private final MeterRegistry metrics;
    private final ScratchSpace scratch;
    private final JobLifecycle lifecycle;
    private final InputStaging staging;
    private final AnsweredRequests answered;

    MergeJob(JobSettings settings, ObjectStore store, JobEvents events, MergeKernel kernel, MeterRegistry metrics,
            ScratchSpace scratch, JobLifecycle lifecycle) {
        this.settings = settings;
        this.store = store;
        this.events = events;
        this.kernel = kernel;
        this.metrics = metrics;
        this.scratch = scratch;
        this.lifecycle = lifecycle;
        this.staging = new InputStaging(store, settings.bucket(), settings.limits(), settings.scratch());
        this.answered = new AnsweredRequests(store, settings.bucket());
    }

    /**
     * Runs {@code job} to exactly one outcome event.
     *
     * @param requestId the request's CloudEvent id (duplicates share it)
     * @return how the job ended (never {@link Outcome#HANDED_BACK}: that is thrown)
     * @throws JobHandedBack when the worker is shutting down and the job was not finished
     */
    Outcome run(MergeRequested job, String requestId) {
        lifecycle.begin(job.jobId());
        long start = System.nanoTime();
        Outcome outcome = Outcome.FAILED;
        try {
            outcome = runAttempts(job, requestId);
            return outcome;
        } catch (JobHandedBack e) {
            outcome = Outcome.HANDED_BACK;
            throw e;
        } finally {
            metrics.counter("mergeline.merges", "outcome", outcome.tag()).increment();
            metrics.timer("mergeline.merge.duration", "outcome", outcome.tag())
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            deleteScratch(job);
            lifecycle.end();
        }
    }

    private Outcome runAttempts(MergeRequested job, String requestId) {
        JobProgress progress = new JobProgress(job.jobId(), job.adapter(), settings.progressInterval(),
                System::nanoTime, events::progress);
        Duration backoff = settings.retryBackoff();
        for (int attempt = 1; ; attempt++) {
            try {
                return attempt(job, requestId, progress);
            } catch (JobHandedBack e) {
                throw e;
            } catch (IOException | RejectedException | RuntimeException e) {
                lifecycle.checkAbort(job.jobId());
                JobFailures.Verdict verdict = JobFailures.classify(e, attempt < settings.jobAttempts(),
                        lifecycle.stopping());
                if (verdict instanceof JobFailures.Retry retry) {
                    LOG.warnf("job %s: storage failed (%s); retry %d in %d ms", job.jobId(), retry.cause(), attempt,
                            backoff.toMillis());
                    lifecycle.pause(job.jobId(), backoff);
                    backoff = backoff.multipliedBy(2);
                } else if (verdict instanceof JobFailures.HandBack handBack) {
                    LOG.warnf(e, "job %s failed while the worker was stopping", job.jobId());
                    throw new JobHandedBack("job " + job.jobId() + " " + handBack.message());
                } else {
                    JobFailures.Fail fail = (JobFailures.Fail) verdict;
                    if (fail.problems().get(0).code().equals(FailureCode.INTERNAL_ERROR.name())) {
                        LOG.errorf(e, "job %s failed", job.jobId()); // unexpected: the stack trace tells why
                    }
                    LOG.warnf("job %s failed after %d attempt(s): %s", job.jobId(), attempt, fail.problems());
                    events.failed(new MergeFailed(job.jobId(), job.adapter(), fail.problems(), fail.retriable(),
                            attempt));
                    return fail.rejected() ? Outcome.REJECTED : Outcome.FAILED;
                }
            }
        }
    }

    private Outcome attempt(MergeRequested job, String requestId, JobProgress progress)
            throws IOException, RejectedException {
        String bucket = settings.bucket();
        String outPrefix = OutputRef.prefixFor(job.adapter().location(), job.jobId());
        Optional<ObjectInfo> existing = store.head(bucket, outPrefix + Manifest.FILE_NAME);
        if (existing.isPresent()) {
            return answerComplete(job, requestId, outPrefix, existing.get());
        }
        Map<String, Long> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        MergeOptions options = WireMapping.engineOptions(job.options()).withVerificationSeed(job.jobId())
                .withBlockBytes(settings.mergeBlockBytes());
        InputStaging.Inputs inputs = staging.locate(job);
        Path jobDir = scratch.jobDir(job.jobId());
        deleteScratch(job);
        staging.ensureScratchSpace(job.jobId(), inputs, options.outputDType(), scratch.root());
        Path adapterDir = Files.createDirectories(jobDir.resolve("adapter"));
        Path baseDir = Files.createDirectories(jobDir.resolve("base"));
        long read = store.bytesRead();
        staging.download(inputs, adapterDir, baseDir, progress.transfer(Phase.DOWNLOAD,
                inputs.adapterBytes() + inputs.baseBytes()));
        progress.complete();
        read = store.bytesRead() - read;
        timings.put("downloadMs", phase("download", t0));
        testDelay(job, settings.testDelayAfterDownload(), "after download");
        long t1 = System.nanoTime();
        Path outDir = jobDir.resolve("out");
        Manifest manifest = new OfflineMerger(kernel, settings.limits()).merge(baseDir, adapterDir, outDir, options,
                progress.merge());
        progress.complete();
        timings.put("mergeMs", phase("merge", t1));
        lifecycle.checkAbort(job.jobId());
        long t2 = System.nanoTime();
        long written = store.bytesWritten();
        upload(job, outPrefix, outDir, manifest, progress);
        written = store.bytesWritten() - written;
        timings.put("uploadMs", phase("upload", t2));
        timings.put("totalMs", (System.nanoTime() - t0) / 1_000_000);
        metrics.counter("mergeline.merge.bytes.read").increment(read);
        metrics.counter("mergeline.merge.bytes.written").increment(written);
        events.awaitProgress(PROGRESS_FLUSH); // progress first: consumers see it before the outcome
        // MANIFEST.json is written: the job is complete, so its ready event is sent even while stopping.
        events.ready(ready(job, outPrefix, manifest, timings, false));
        answered.markAnswered(job, requestId);
        LOG.infof("job %s merged: %d merged, %d copied tensors; S3 in %d ms (%s), merge %d ms, S3 out %d ms (%s),"
                + " total %d ms", job.jobId(), manifest.counts().merged(), manifest.counts().copied(),
                timings.get("downloadMs"), rate(read, timings.get("downloadMs")), timings.get("mergeMs"),
                timings.get("uploadMs"), rate(written, timings.get("uploadMs")), timings.get("totalMs"));
        return Outcome.MERGED;
    }

    /** The job's output is complete: drop an answered request, re-emit the ready event for a new one. */
    private Outcome answerComplete(MergeRequested job, String requestId, String outPrefix, ObjectInfo manifestObject)
            throws IOException {
        if (answered.answered(job, requestId)) {
            LOG.infof("job %s: request %s was already answered; duplicate dropped", job.jobId(), requestId);
            return Outcome.DUPLICATE;
        }
        Manifest manifest = JSON.readValue(store.getSmall(settings.bucket(), manifestObject.key(), MAX_MANIFEST_BYTES),
                Manifest.class);
        lifecycle.checkAbort(job.jobId());
        events.ready(ready(job, outPrefix, manifest, Map.of(), true));
        answered.markAnswered(job, requestId);
        LOG.infof("job %s already complete at %s; ready event re-emitted for request %s", job.jobId(), outPrefix,
                requestId);
        return Outcome.REEMITTED;
    }

    /** Every file but the manifest, then the manifest: its presence in the store means complete. */
    private void upload(MergeRequested job, String prefix, Path outDir, Manifest manifest, JobProgress progress)
            throws IOException {
        long total = Files.size(outDir.resolve(Manifest.FILE_NAME));
        for (Manifest.FileEntry f : manifest.output().files()) {
            total = Math.addExact(total, Files.size(outDir.resolve(f.name())));
        }
        LongConsumer uploaded = progress.transfer(Phase.UPLOAD, total);
        for (Manifest.FileEntry f : manifest.output().files()) {
            store.upload(outDir.resolve(f.name()), settings.bucket(), prefix + f.name(), contentType(f.name()),
                    uploaded);
        }
        testDelay(job, settings.testDelayBeforeManifest(), "before MANIFEST.json");
        lifecycle.checkAbort(job.jobId());
        store.upload(outDir.resolve(Manifest.FILE_NAME), settings.bucket(), prefix + Manifest.FILE_NAME,
                "application/json", uploaded);
        progress.complete();
    }

    /**
     * Records the time since {@code start} as phase {@code phase} of a merge (download = S3 in,
     * merge, upload = S3 out: {@code mergeline_merge_phase_seconds{phase}}) and returns it in ms.
     */
    private long phase(String phase, long start) {
        long nanos = System.nanoTime() - start;
        metrics.timer("mergeline.merge.phase", "phase", phase).record(nanos, TimeUnit.NANOSECONDS);
        return nanos / 1_000_000;
    }

    private void testDelay(MergeRequested job, Duration delay, String where) {
        if (!delay.isZero() && !delay.isNegative()) {
            LOG.warnf("job %s: test delay of %s %s (mergeline.worker.test-delay-* is a test hook)", job.jobId(),
                    delay, where);
            lifecycle.pause(job.jobId(), delay);
        }
    }

    private void deleteScratch(MergeRequested job) {
        try {
            ScratchSpace.deleteTree(scratch.jobDir(job.jobId()));
        } catch (IOException e) {
            LOG.debugf("job %s: scratch not fully removed (%s); the worker's directory goes at exit", job.jobId(), e);
        }
    }

    private MergedModelReady ready(MergeRequested job, String prefix, Manifest manifest, Map<String, Long> timings,
            boolean reemitted) {
        List<OutputFile> files = new ArrayList<>();
        manifest.output().files().forEach(f -> files.add(new OutputFile(prefix + f.name(), f.bytes(), f.sha256())));
        OutputRef output = new OutputRef(settings.bucket(), prefix, OutputRef.SAFETENSORS, manifest.output().dtype(),
                manifest.output().quantization() == null ? null : manifest.output().quantization().method(), files);
        return new MergedModelReady(job.jobId(), job.adapter(), job.base(), output, WireMapping.counts(manifest.counts()),
                timings, new EngineRef(manifest.engine().version(), manifest.engine().mergeSemantics(),
                        manifest.engine().executionProvider()), reemitted, verification(manifest.verification()));
    }

    /** The manifest's verification, without its per-tensor entries; null for manifests written without one. */
    static Verification verification(VerificationReport v) {
        if (v == null) {
            return null;
        }
        return new Verification(v.status(), v.probes(), v.tensors(), v.maxRelativeError(), v.maxRelativeErrorTensor(),
                v.unchanged(), v.unchangedNote());
    }

    /** "1234.5 MiB, 310.2 MiB/s". */
    private static String rate(long bytes, long millis) {
        double mib = bytes / (double) (1L << 20);
        return String.format(Locale.ROOT, "%.1f MiB, %.1f MiB/s", mib, millis == 0 ? 0 : mib * 1000 / millis);
    }

    private static String contentType(String name) {
        return name.endsWith(".json") ? "application/json" : "application/octet-stream";
    }
}
