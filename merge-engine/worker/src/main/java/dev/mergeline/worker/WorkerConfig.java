package dev.mergeline.worker;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Configuration of the merge worker itself ({@code mergeline.worker.*}; env vars
 * {@code MERGELINE_WORKER_*}). The bucket, S3 and input limits are the settings it shares with the
 * functions ({@link dev.mergeline.quarkus.MergelineSettings}).
 */
@ConfigMapping(prefix = "mergeline.worker")
public interface WorkerConfig {
    /**
     * Local scratch space for inputs and outputs of the running job. Each worker process works in
     * its own {@code worker-<16 hex>/} below it, emptied after each job and removed at exit; at
     * start a worker removes such directories of workers that are gone ({@link ScratchSpace}) and
     * touches nothing else, so several workers may share one scratch directory.
     */
    @WithDefault("${java.io.tmpdir}/mergeline-worker")
    Path scratchDir();

    /**
     * Bytes per ranged GET when downloading inputs and per part when uploading outputs (at least
     * {@code 5M}, S3's smallest part; uploads use larger parts where a file would need more than
     * S3's 10,000). Objects no larger than this move in one request.
     */
    @WithDefault("16M")
    MemorySize s3PartSize();

    /** fp32 bytes of work per merge block ({@code MergeExecutor.DEFAULT_BLOCK_BYTES}; docs/performance.md). */
    @WithDefault("8M")
    MemorySize mergeBlockSize();

    /** ONNX Runtime intra-op threads; unset: {@code OnnxMergeKernel.defaultThreads()} (cores − 1, at least 1). */
    OptionalInt ortThreads();

    /**
     * Requests of one download or upload in flight at a time. {@code 1}: one GET per object and
     * multipart parts one after another (with {@code s3-part-size=64M}: one stream each way, the
     * first row of the worker's S3 benchmark in docs/performance.md).
     */
    @WithDefault("8")
    int s3Concurrency();

    /**
     * Static membership: the Kafka consumer's {@code group.instance.id}
     * ({@code mp.messaging.incoming.merge-requests.group.instance.id} is set from it). A restarted
     * worker with the same id takes its partitions back without a rebalance, provided it returns
     * within {@code session.timeout.ms}; a stopped one keeps them until then (a static member
     * does not leave the group). Must be unique among running workers (a second process with the
     * same id fences the first) and stable across restarts of one replica, e.g. a StatefulSet pod
     * name. Not defaulted to the host name: workers on one host would fence each other. Empty:
     * dynamic membership.
     */
    Optional<String> instanceId();

    /** Whole-job attempts when storage fails transiently, before merge.failed is emitted. */
    @WithDefault("3")
    int jobAttempts();

    /** Pause before the first job retry; doubles each time. */
    @WithDefault("2s")
    Duration retryBackoff();

    /**
     * Least time between two {@code merge.progress} events of a job within one phase; every phase
     * also publishes one event when it starts and one when it ends, whatever this says.
     */
    @WithDefault("2s")
    Duration progressInterval();

    /** Use the CUDA execution provider when the gpu build finds a GPU. */
    @WithDefault("true")
    boolean preferCuda();

    /**
     * The most scratch space one job may use (inputs + estimated output), e.g. the size limit of
     * a Kubernetes {@code emptyDir}, which the file system does not enforce (the kubelet evicts
     * the pod instead). Empty: no limit beyond the volume's free space.
     */
    Optional<Long> maxScratchBytes();

    /** Free space to leave on the scratch volume after a job's inputs and estimated output. */
    @WithDefault("0")
    long minFreeScratchBytes();

    /**
     * On SIGTERM, how long the current merge may take to finish before it is handed back
     * uncommitted (Kafka then redelivers it to the next worker). Keep it below the orchestrator's
     * stop timeout (ECS {@code stopTimeout}, Kubernetes {@code terminationGracePeriodSeconds}).
     */
    @WithDefault("90s")
    Duration shutdownGrace();

    /**
     * Handle SIGTERM by draining first ({@link GracefulShutdown}): the running merge finishes
     * (or is handed back) before the JVM shuts down.
     */
    @WithDefault("true")
    boolean drainOnSigterm();

    /**
     * Test hook, never set in production: pause this long after a job's inputs are downloaded,
     * before merging, so that tests can kill or stop the worker in the middle of a merge.
     */
    @WithDefault("0s")
    Duration testDelayAfterDownload();

    /**
     * Test hook, never set in production: pause this long after every output file but
     * MANIFEST.json is uploaded, so that tests can kill the worker with a half-published output.
     */
    @WithDefault("0s")
    Duration testDelayBeforeManifest();
}
