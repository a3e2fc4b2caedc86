package dev.mergeline.worker;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.Counts;
import dev.mergeline.events.EngineRef;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MergedModelReady;
import dev.mergeline.events.OutputFile;
import dev.mergeline.events.OutputRef;
import dev.mergeline.events.Problem;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.StorageException;
import dev.mergeline.safetensors.DType;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Runs one merge job: skip (re-emit) if its output is complete, else download base and adapter to
 * scratch, merge with the core engine, upload the checkpoint with MANIFEST.json last, emit ready.
 * Permanent failures emit {@code merge.failed}; transient storage failures are retried with backoff
 * first. Nothing is swallowed: every job ends in exactly one outcome event.
 */
@ApplicationScoped
public class MergeJobService {
    private static final Logger LOG = Logger.getLogger(MergeJobService.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

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

    public void run(MergeRequested job) {
        long start = System.nanoTime();
        String outcome = "failed";
        int attempts = 0;
        long backoff = config.worker().retryBackoff().toMillis();
        try {
            while (true) {
                attempts++;
                try {
                    outcome = attempt(job);
                    return;
                } catch (StorageException e) {
                    if (!e.retriable() || attempts >= config.worker().jobAttempts()) {
                        fail(job, Problem.of(FailureCode.STORAGE_UNAVAILABLE, e.getMessage()), e.retriable(), attempts);
                        return;
                    }
                    LOG.warnf("job %s: storage failed (%s); retry %d in %d ms", job.jobId(), e.getMessage(), attempts,
                            backoff);
                    sleep(backoff);
                    backoff *= 2;
                } catch (RejectedException e) {
                    fail(job, Problem.of(e.reasons()), false, attempts);
                    outcome = "rejected";
                    return;
                } catch (IOException e) {
                    boolean diskFull = e.getMessage() != null && e.getMessage().contains("No space left");
                    fail(job, Problem.of(diskFull ? FailureCode.SCRATCH_DISK_FULL : FailureCode.OUTPUT_WRITE_FAILED,
                            String.valueOf(e.getMessage())), false, attempts);
                    return;
                } catch (RuntimeException e) {
                    LOG.errorf(e, "job %s failed", job.jobId());
                    fail(job, Problem.of(FailureCode.INTERNAL_ERROR, String.valueOf(e)), false, attempts);
                    return;
                }
            }
        } finally {
            metrics.counter("mergeline.merges", "outcome", outcome).increment();
            metrics.timer("mergeline.merge.duration", "outcome", outcome)
                    .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
            deleteQuietly(scratch(job));
        }
    }

    /** @return "merged" or "reemitted" */
    private String attempt(MergeRequested job) throws IOException, RejectedException {
        String bucket = config.bucket();
        String outPrefix = OutputRef.prefixFor(job.adapter().location(), job.jobId());
        Optional<ObjectInfo> existing = s3.head(bucket, outPrefix + Manifest.FILE_NAME);
        if (existing.isPresent()) {
            Manifest manifest = JSON.readValue(s3.getSmall(bucket, existing.get().key(), 16L << 20), Manifest.class);
            events.ready(ready(job, bucket, outPrefix, manifest, Map.of(), true));
            LOG.infof("job %s already complete at %s; ready event re-emitted", job.jobId(), outPrefix);
            return "reemitted";
        }
        Map<String, Long> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        Path scratch = scratch(job);
        deleteQuietly(scratch);
        Path adapterDir = Files.createDirectories(scratch.resolve("adapter"));
        Path baseDir = Files.createDirectories(scratch.resolve("base"));
        Path outDir = scratch.resolve("out");
        long before = s3.bytesRead();
        fetch(bucket, job.adapter().prefix(), adapterDir, job.adapter().etags());
        fetch(bucket, job.base().prefix(), baseDir, job.base().etags());
        timings.put("downloadMs", (System.nanoTime() - t0) / 1_000_000);
        long t1 = System.nanoTime();
        Manifest manifest = new OfflineMerger(kernel).merge(baseDir, adapterDir, outDir, options(job));
        timings.put("mergeMs", (System.nanoTime() - t1) / 1_000_000);
        long t2 = System.nanoTime();
        upload(bucket, outPrefix, outDir, manifest);
        timings.put("uploadMs", (System.nanoTime() - t2) / 1_000_000);
        timings.put("totalMs", (System.nanoTime() - t0) / 1_000_000);
        metrics.counter("mergeline.merge.bytes.read").increment(s3.bytesRead() - before);
        events.ready(ready(job, bucket, outPrefix, manifest, timings, false));
        LOG.infof("job %s merged: %d merged, %d copied tensors; %s", job.jobId(), manifest.counts().merged(),
                manifest.counts().copied(), timings);
        return "merged";
    }

    /**
     * Downloads every object under {@code prefix} that a merge uses; the files named in the request
     * must still have the ETags validation saw, otherwise the job's inputs changed underneath it.
     */
    private void fetch(String bucket, String prefix, Path dir, Map<String, String> expectedEtags)
            throws StorageException, RejectedException {
        Map<String, ObjectInfo> found = new LinkedHashMap<>();
        for (ObjectInfo o : s3.list(bucket, prefix)) {
            String name = o.key().substring(prefix.length());
            if (!name.contains("/") && !name.endsWith(".bin") && !name.endsWith(".pt") && !name.endsWith(".pth")) {
                found.put(name, o);
            }
        }
        for (Map.Entry<String, String> e : expectedEtags.entrySet()) {
            ObjectInfo o = found.get(e.getKey());
            if (o == null || !e.getValue().equals(o.etag())) {
                throw new RejectedException(dev.mergeline.core.validation.Reason.mismatch(
                        dev.mergeline.core.validation.ReasonCode.ADAPTER_FILES_MISSING, prefix + e.getKey(),
                        "input changed since validation; upload again to start a new job", e.getValue(),
                        o == null ? "absent" : o.etag()));
            }
        }
        for (Map.Entry<String, ObjectInfo> e : found.entrySet()) {
            s3.download(bucket, e.getValue().key(), dir.resolve(e.getKey()));
        }
    }

    /** Every file but the manifest, then the manifest: its presence in S3 means complete. */
    private void upload(String bucket, String prefix, Path outDir, Manifest manifest) throws StorageException {
        for (Manifest.FileEntry f : manifest.output().files()) {
            s3.upload(outDir.resolve(f.name()), bucket, prefix + f.name(), contentType(f.name()));
        }
        s3.upload(outDir.resolve(Manifest.FILE_NAME), bucket, prefix + Manifest.FILE_NAME, "application/json");
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
                        manifest.engine().executionProvider()), reemitted);
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
        return new MergeOptions(dtype, shard, d.blockBytes());
    }

    private Path scratch(MergeRequested job) {
        return config.worker().scratchDir().resolve(job.jobId());
    }

    private static String contentType(String name) {
        return name.endsWith(".json") ? "application/json" : "application/octet-stream";
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while backing off", e);
        }
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

}
