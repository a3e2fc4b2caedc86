package dev.mergeline.worker;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.merge.VerificationFailedException;
import dev.mergeline.core.merge.VerificationReport;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.output.ModelFiles;
import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.Counts;
import dev.mergeline.events.EngineRef;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeProgress.Phase;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.events.OutputRef;
import dev.mergeline.events.Problem;
import dev.mergeline.events.Verification;
import dev.mergeline.s3.ObjectChangedException;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.StorageException;
import dev.mergeline.safetensors.DType;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Runs one merge job: skip (re-emit) if its output is complete, else download base and adapter to
 * scratch, merge with the core engine, upload the checkpoint with MANIFEST.json last, emit ready.
 * Permanent failures emit {@code merge.failed}; transient storage failures are retried with backoff
 * first. Nothing is swallowed: every job ends in exactly one outcome event — or, when the worker is
 * stopped in the middle, in {@link HandedBack}, which leaves the request uncommitted for redelivery.
 *
 * <p><b>Duplicates.</b> Each request is identified by its CloudEvent id (the functions derive it from
 * the upload that triggered it, so every delivery of the same trigger has the same id). After a job's
 * ready event is acknowledged, the worker records the id as answered with an empty marker object
 * {@code merged/<id>/.requests/<jobId>/<requestId>} — beside the job's output prefix, never in it.
 * A request for a complete job whose id is already answered is dropped silently; a new request for a
 * complete job re-emits its ready event ({@code reemitted=true}). Markers are written after the event
 * is acknowledged: a crash in between costs at most one flagged re-emission, never a lost event.
 */
@ApplicationScoped
public class MergeJobService {
    private static final Logger LOG = Logger.getLogger(MergeJobService.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    /** Marker folder beside the job prefixes of one adapter: {@code merged/<id>/.requests/<jobId>/}. */
    static final String REQUESTS_FOLDER = ".requests/";
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    /** How long a job's outcome waits for its progress events to reach the broker (best effort). */
    private static final Duration PROGRESS_FLUSH = Duration.ofSeconds(5);

    @Inject
    WorkerConfig config;
    @Inject
    S3Objects s3;
    @Inject
    MergeKernel kernel;
    @Inject
    WorkerEvents events;
    @Inject
    MeterRegistry metrics;
    @Inject
    ScratchSpace scratch;

    /** The job being run is not finished and must be redelivered: its request stays uncommitted. */
    public static final class HandedBack extends RuntimeException {
        HandedBack(String message) {
            super(message, null, false, false);
        }
    }

    /** Guards {@link #running}; also what abort-aware pauses wait on. */
    private final Object lock = new Object();
    private String running;
    private volatile boolean stopping;
    private volatile boolean abort;

    /**
     * Runs {@code job} to exactly one outcome event.
     *
     * @param requestId the request's CloudEvent id (duplicates share it)
     * @throws HandedBack when the worker is shutting down and the job was not finished
     */
    public void run(MergeRequested job, String requestId) {
        synchronized (lock) {
            if (stopping) {
                throw new HandedBack("worker is stopping; job " + job.jobId() + " left for redelivery");
            }
            running = job.jobId();
        }
        try {
            runJob(job, requestId);
        } finally {
            synchronized (lock) {
                running = null;
                lock.notifyAll();
            }
        }
    }

    /**
     * Stops taking jobs: no new job starts; the running one gets {@code shutdown-grace} to finish,
     * then it is abandoned at its next checkpoint without an outcome event (its offset is not
     * committed, so Kafka redelivers it). Called on SIGTERM by {@link GracefulShutdown} while
     * everything (Kafka, S3, ONNX Runtime) is still up, and again — then usually a no-op — when the
     * application shuts down.
     */
    public void drain() {
        synchronized (lock) {
            stopping = true;
            if (running == null) {
                return;
            }
            Duration grace = config.worker().shutdownGrace();
            LOG.infof("stopping: waiting up to %s for job %s to finish", grace, running);
            if (!awaitIdle(grace)) {
                String job = running;
                abort = true;
                lock.notifyAll();
                LOG.warnf("job %s did not finish within %s; handing it back uncommitted for redelivery", job, grace);
                awaitIdle(Duration.ofSeconds(5));
            }
        }
    }

    void onShutdown(@Observes ShutdownEvent event) {
        drain();
    }

    /** True while a job is running. */
    boolean busy() {
        synchronized (lock) {
            return running != null;
        }
    }

    private boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (running != null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                lock.wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Throws {@link HandedBack} once shutdown gave up on the running job. */
    private void checkAbort(MergeRequested job) {
        if (abort) {
            throw new HandedBack("worker stopped before job " + job.jobId() + " finished; left for redelivery");
        }
    }

    /** Sleeps, but returns early (with {@link HandedBack}) when shutdown abandons the job. */
    private void pause(MergeRequested job, Duration duration) {
        long deadline = System.nanoTime() + duration.toNanos();
        synchronized (lock) {
            while (!abort) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    lock.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        checkAbort(job);
    }

    private void runJob(MergeRequested job, String requestId) {
        long start = System.nanoTime();
        String outcome = "failed";
        int attempts = 0;
        long backoff = config.worker().retryBackoff().toMillis();
        JobProgress progress = new JobProgress(job.jobId(), job.adapter(), config.worker().progressInterval(),
                System::nanoTime, events::progress);
        try {
            while (true) {
                attempts++;
                try {
                    outcome = attempt(job, requestId, progress);
                    return;
                } catch (HandedBack e) {
                    throw e; // not an outcome: see the outer catch
                } catch (ScratchSpaceException e) {
                    fail(job, Problem.of(FailureCode.SCRATCH_DISK_FULL, e.getMessage()), true, attempts);
                    return;
                } catch (StorageException e) {
                    checkAbort(job);
                    if (isDiskFull(e)) {
                        fail(job, Problem.of(FailureCode.SCRATCH_DISK_FULL, e.getMessage()), true, attempts);
                        return;
                    }
                    if (!e.retriable() || attempts >= config.worker().jobAttempts()) {
                        fail(job, Problem.of(FailureCode.STORAGE_UNAVAILABLE, e.getMessage()), e.retriable(), attempts);
                        return;
                    }
                    LOG.warnf("job %s: storage failed (%s); retry %d in %d ms", job.jobId(), e.getMessage(), attempts,
                            backoff);
                    pause(job, Duration.ofMillis(backoff));
                    backoff *= 2;
                } catch (RejectedException e) {
                    checkAbort(job);
                    fail(job, Problem.of(e.reasons()), false, attempts);
                    outcome = "rejected";
                    return;
                } catch (IOException e) {
                    checkAbort(job);
                    boolean diskFull = isDiskFull(e);
                    fail(job, Problem.of(diskFull ? FailureCode.SCRATCH_DISK_FULL : FailureCode.OUTPUT_WRITE_FAILED,
                            String.valueOf(e.getMessage())), diskFull, attempts);
                    return;
                } catch (VerificationFailedException e) {
                    checkAbort(job);
                    LOG.errorf("job %s: the merged bytes failed verification: %s", job.jobId(), e.getMessage());
                    fail(job, new Problem(FailureCode.VERIFICATION_FAILED.name(), e.getMessage(), e.tensor(), null, null, null),
                            true, attempts);
                    return;
                } catch (RuntimeException e) {
                    checkAbort(job);
                    if (stopping) {
                        // Most likely a consequence of the shutdown itself: let the next worker try.
                        LOG.warnf(e, "job %s failed while the worker was stopping", job.jobId());
                        throw new HandedBack("job " + job.jobId() + " failed while the worker was stopping (" + e
                                + "); left for redelivery");
                    }
                    if (isDiskFull(e)) {
                        fail(job, Problem.of(FailureCode.SCRATCH_DISK_FULL, String.valueOf(e.getMessage())), true,
                                attempts);
                        return;
                    }
                    LOG.errorf(e, "job %s failed", job.jobId());
                    fail(job, Problem.of(FailureCode.INTERNAL_ERROR, String.valueOf(e)), false, attempts);
                    return;
                }
            }
        } catch (HandedBack e) {
            outcome = "handed_back";
            throw e;
        } finally {
            metrics.counter("mergeline.merges", "outcome", outcome).increment();
            metrics.timer("mergeline.merge.duration", "outcome", outcome)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            deleteQuietly(scratch(job));
        }
    }

    /** @return "merged", "reemitted" or "duplicate" */
    private String attempt(MergeRequested job, String requestId, JobProgress progress)
            throws IOException, RejectedException {
        String bucket = config.bucket();
        String outPrefix = OutputRef.prefixFor(job.adapter().location(), job.jobId());
        String marker = markerKey(job, requestId);
        Optional<ObjectInfo> existing = s3.head(bucket, outPrefix + Manifest.FILE_NAME);
        if (existing.isPresent()) {
            if (s3.head(bucket, marker).isPresent()) {
                LOG.infof("job %s: request %s was already answered; duplicate dropped", job.jobId(), requestId);
                return "duplicate";
            }
            Manifest manifest = JSON.readValue(s3.getSmall(bucket, existing.get().key(), 16L << 20), Manifest.class);
            checkAbort(job);
            events.ready(ready(job, bucket, outPrefix, manifest, Map.of(), true));
            markAnswered(bucket, marker, job, requestId);
            LOG.infof("job %s already complete at %s; ready event re-emitted for request %s", job.jobId(), outPrefix,
                    requestId);
            return "reemitted";
        }
        Map<String, Long> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        Map<String, ObjectInfo> adapterFiles = inputs(bucket, job.adapter().prefix(), job.adapter().etags());
        Map<String, ObjectInfo> baseFiles = inputs(bucket, job.base().prefix(), job.base().etags());
        InputLimits limits = limits();
        ObjectInfo weights = adapterFiles.get("adapter_model.safetensors");
        if (weights != null) { // the same check validation made, before downloading: limits may differ
            Optional<Reason> tooLarge = limits.checkAdapterBytes(weights.key(), weights.size());
            if (tooLarge.isPresent()) {
                throw new RejectedException(tooLarge.get());
            }
        }
        Path jobDir = scratch(job);
        deleteQuietly(jobDir);
        ensureScratchSpace(job, adapterFiles, baseFiles);
        Path adapterDir = Files.createDirectories(jobDir.resolve("adapter"));
        Path baseDir = Files.createDirectories(jobDir.resolve("base"));
        Path outDir = jobDir.resolve("out");
        long read = s3.bytesRead();
        LongConsumer downloaded = progress.transfer(Phase.DOWNLOAD, Stream.of(adapterFiles, baseFiles)
                .flatMap(m -> m.values().stream()).mapToLong(ObjectInfo::size).sum());
        download(bucket, adapterFiles, adapterDir, downloaded);
        download(bucket, baseFiles, baseDir, downloaded);
        progress.complete();
        read = s3.bytesRead() - read;
        timings.put("downloadMs", phase("download", t0));
        testDelay(job, config.worker().testDelayAfterDownload(), "after download");
        long t1 = System.nanoTime();
        Manifest manifest = new OfflineMerger(kernel, limits).merge(baseDir, adapterDir, outDir,
                options(job).withBlockBytes(config.worker().mergeBlockSize().asLongValue()),
                progress.merge());
        progress.complete();
        timings.put("mergeMs", phase("merge", t1));
        checkAbort(job);
        long t2 = System.nanoTime();
        long written = s3.bytesWritten();
        upload(job, bucket, outPrefix, outDir, manifest, progress);
        written = s3.bytesWritten() - written;
        timings.put("uploadMs", phase("upload", t2));
        timings.put("totalMs", (System.nanoTime() - t0) / 1_000_000);
        metrics.counter("mergeline.merge.bytes.read").increment(read);
        metrics.counter("mergeline.merge.bytes.written").increment(written);
        events.awaitProgress(PROGRESS_FLUSH); // progress first: consumers see it before the outcome
        // MANIFEST.json is written: the job is complete, so its ready event is sent even while stopping.
        events.ready(ready(job, bucket, outPrefix, manifest, timings, false));
        markAnswered(bucket, marker, job, requestId);
        LOG.infof("job %s merged: %d merged, %d copied tensors; S3 in %d ms (%s), merge %d ms, S3 out %d ms (%s),"
                + " total %d ms", job.jobId(), manifest.counts().merged(), manifest.counts().copied(),
                timings.get("downloadMs"), rate(read, timings.get("downloadMs")), timings.get("mergeMs"),
                timings.get("uploadMs"), rate(written, timings.get("uploadMs")), timings.get("totalMs"));
        return "merged";
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

    /** "1234.5 MiB, 310.2 MiB/s". */
    private static String rate(long bytes, long millis) {
        double mib = bytes / (double) (1L << 20);
        return String.format(Locale.ROOT, "%.1f MiB, %.1f MiB/s", mib, millis == 0 ? 0 : mib * 1000 / millis);
    }

    /**
     * The objects under {@code prefix} that a merge uses; the files named in the request must still
     * have the ETags validation saw, otherwise the job's inputs changed underneath it.
     */
    private Map<String, ObjectInfo> inputs(String bucket, String prefix, Map<String, String> expectedEtags)
            throws StorageException, RejectedException {
        Map<String, ObjectInfo> found = new LinkedHashMap<>();
        for (ObjectInfo o : s3.list(bucket, prefix)) {
            String name = o.key().substring(prefix.length());
            if (!name.contains("/") && !ModelFiles.isForeignWeights(name)) { // the merge carries the rest
                found.put(name, o);
            }
        }
        for (Map.Entry<String, String> e : expectedEtags.entrySet()) {
            ObjectInfo o = found.get(e.getKey());
            if (o == null || !e.getValue().equals(o.etag())) {
                throw inputChanged(prefix + e.getKey(), e.getValue(), o == null ? "absent" : o.etag());
            }
        }
        return found;
    }

    private static RejectedException inputChanged(String key, String expectedEtag, String actualEtag) {
        return new RejectedException(Reason.mismatch(ReasonCode.ADAPTER_FILES_MISSING, key,
                "input changed since validation; upload again to start a new job", expectedEtag,
                actualEtag == null ? "another ETag" : actualEtag));
    }

    /** Each file pinned to the ETag it was listed with: one replaced meanwhile rejects the job. */
    private void download(String bucket, Map<String, ObjectInfo> files, Path dir, LongConsumer progress)
            throws StorageException, RejectedException {
        for (Map.Entry<String, ObjectInfo> e : files.entrySet()) {
            try {
                s3.download(bucket, e.getValue(), dir.resolve(e.getKey()), progress);
            } catch (ObjectChangedException changed) {
                throw inputChanged(changed.key(), changed.expectedEtag(), changed.actualEtag());
            }
        }
    }

    /**
     * Refuses a job whose inputs plus estimated output do not fit the scratch space: the configured
     * {@code max-scratch-bytes}, and the volume's usable space less {@code min-free-scratch-bytes}.
     * The output estimate is the base's bytes (twice that when the output dtype is fp32, as a 16-bit
     * base doubles) plus the adapter's (heads it adds). Checked before anything is downloaded, so a
     * job that cannot fit fails at once instead of filling the disk; a disk that fills anyway (other
     * tenants) is still reported as {@code SCRATCH_DISK_FULL}.
     */
    private void ensureScratchSpace(MergeRequested job, Map<String, ObjectInfo> adapter, Map<String, ObjectInfo> base)
            throws IOException {
        long adapterBytes = adapter.values().stream().mapToLong(ObjectInfo::size).sum();
        long baseBytes = base.values().stream().mapToLong(ObjectInfo::size).sum();
        int factor = options(job).outputDType().map(d -> Math.max(1, d.byteSize() / 2)).orElse(1);
        long needed = adapterBytes + baseBytes + factor * baseBytes + adapterBytes;
        Path root = scratch.root();
        long usable = Files.getFileStore(root).getUsableSpace() - config.worker().minFreeScratchBytes();
        Optional<Long> limit = config.worker().maxScratchBytes();
        long available = limit.map(l -> Math.min(l, usable)).orElse(usable);
        if (needed > available) {
            throw new ScratchSpaceException("job " + job.jobId() + " needs about " + needed + " bytes of scratch space"
                    + " (inputs " + (adapterBytes + baseBytes) + ", estimated output " + (factor * baseBytes + adapterBytes)
                    + ") but " + Math.max(0, available) + " are available in " + root
                    + limit.map(l -> " (max-scratch-bytes " + l + ")").orElse("")
                    + (config.worker().minFreeScratchBytes() > 0
                            ? " (min-free-scratch-bytes " + config.worker().minFreeScratchBytes() + ")" : ""));
        }
    }

    /** The scratch space cannot hold a job. */
    static final class ScratchSpaceException extends IOException {
        ScratchSpaceException(String message) {
            super(message);
        }
    }

    /** ENOSPC anywhere in the cause chain (a download or the merge filled the scratch disk). */
    static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.contains("No space left on device")) {
                return true;
            }
        }
        return false;
    }

    private void testDelay(MergeRequested job, Duration delay, String where) {
        if (!delay.isZero() && !delay.isNegative()) {
            LOG.warnf("job %s: test delay of %s %s (mergeline.worker.test-delay-* is a test hook)", job.jobId(),
                    delay, where);
            pause(job, delay);
        }
    }

    /** {@code merged/<id>/.requests/<jobId>/<requestId>}: beside the job's output, never inside it. */
    static String markerKey(MergeRequested job, String requestId) {
        String adapterPrefix = OutputRef.prefixFor(job.adapter().location(), job.jobId());
        String adapterRoot = adapterPrefix.substring(0, adapterPrefix.length() - job.jobId().length() - 1);
        String name = SAFE_NAME.matcher(requestId).matches() && !requestId.equals(".") && !requestId.equals("..")
                ? requestId
                : java.util.HexFormat.of().formatHex(sha256(requestId));
        return adapterRoot + REQUESTS_FOLDER + job.jobId() + "/" + name;
    }

    private static byte[] sha256(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Records that {@code requestId} was answered (after its event was acknowledged). Best effort: if
     * S3 refuses, a later duplicate of this request re-emits a flagged ready event instead of being
     * dropped — the job itself is done, so it must not fail now.
     */
    private void markAnswered(String bucket, String marker, MergeRequested job, String requestId) {
        try {
            s3.putBytes(new byte[0], bucket, marker, "application/octet-stream");
        } catch (StorageException e) {
            LOG.warnf("job %s: could not record request %s as answered (%s); a duplicate of it would re-emit",
                    job.jobId(), requestId, e.getMessage());
        }
    }

    /** Every file but the manifest, then the manifest: its presence in S3 means complete. */
    private void upload(MergeRequested job, String bucket, String prefix, Path outDir, Manifest manifest,
            JobProgress progress) throws IOException {
        long total = Files.size(outDir.resolve(Manifest.FILE_NAME));
        for (Manifest.FileEntry f : manifest.output().files()) {
            total += Files.size(outDir.resolve(f.name()));
        }
        LongConsumer uploaded = progress.transfer(Phase.UPLOAD, total);
        for (Manifest.FileEntry f : manifest.output().files()) {
            s3.upload(outDir.resolve(f.name()), bucket, prefix + f.name(), contentType(f.name()), uploaded);
        }
        testDelay(job, config.worker().testDelayBeforeManifest(), "before MANIFEST.json");
        checkAbort(job);
        s3.upload(outDir.resolve(Manifest.FILE_NAME), bucket, prefix + Manifest.FILE_NAME, "application/json",
                uploaded);
        progress.complete();
    }

    private static MergedModelReady ready(MergeRequested job, String bucket, String prefix, Manifest manifest,
            Map<String, Long> timings, boolean reemitted) {
        List<OutputFile> files = new ArrayList<>();
        manifest.output().files().forEach(f -> files.add(new OutputFile(prefix + f.name(), f.bytes(), f.sha256())));
        OutputRef output = new OutputRef(bucket, prefix, OutputRef.SAFETENSORS, manifest.output().dtype(), files);
        var c = manifest.counts();
        return new MergedModelReady(job.jobId(), job.adapter(), job.base(), output,
                new Counts(c.merged(), c.replaced(), c.added(), c.copied()), timings,
                new EngineRef(manifest.engine().version(), manifest.engine().mergeSemantics(),
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

    private void fail(MergeRequested job, List<Problem> problems, boolean retriable, int attempts) {
        LOG.warnf("job %s failed after %d attempt(s): %s", job.jobId(), attempts, problems);
        events.failed(new MergeFailed(job.jobId(), job.adapter(), problems, retriable, attempts));
    }

    private void fail(MergeRequested job, Problem problem, boolean retriable, int attempts) {
        fail(job, List.of(problem), retriable, attempts);
    }

    private static MergeOptions options(MergeRequested job) {
        MergeOptions d = MergeOptions.defaults();
        var o = job.options();
        Optional<DType> dtype = o == null || o.dtype() == null ? Optional.empty() : DType.fromTorchName(o.dtype());
        long shard = o == null || o.maxShardBytes() == null ? d.maxShardBytes() : o.maxShardBytes();
        return new MergeOptions(dtype, shard, d.blockBytes(), job.jobId());
    }

    private Path scratch(MergeRequested job) {
        return scratch.jobDir(job.jobId());
    }

    private static String contentType(String name) {
        return name.endsWith(".json") ? "application/json" : "application/octet-stream";
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // scratch is recreated per job
        }
    }

    /** The configured input limits; unset ones are core's defaults. */
    private InputLimits limits() {
        WorkerConfig.Limits l = config.limits();
        return InputLimits.orDefaults(l.maxAdapterBytes(), l.maxHeaderBytes(), l.maxTensorCount());
    }
}
