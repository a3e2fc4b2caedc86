package dev.mergeline.worker;

import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.quarkus.MergelineSettings;
import dev.mergeline.s3.S3Objects;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * The worker's merge jobs: runs each request's {@link MergeJob} recipe, one at a time, and stops
 * taking jobs at shutdown ({@link JobLifecycle}).
 */
@ApplicationScoped
public class MergeJobService {
    @Inject
    WorkerConfig config;
    @Inject
    MergelineSettings settings;
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

    private final JobLifecycle lifecycle = new JobLifecycle();
    private MergeJob recipe;

    @PostConstruct
    void init() {
        recipe = new MergeJob(JobSettings.from(settings, config), s3, events, kernel, metrics, scratch, lifecycle);
    }

    /**
     * Runs {@code job} to exactly one outcome event.
     *
     * @param requestId the request's CloudEvent id (duplicates share it)
     * @throws JobHandedBack when the worker is shutting down and the job was not finished
     */
    public void run(MergeRequested job, String requestId) {
        recipe.run(job, requestId);
    }

    /**
     * Stops taking jobs: no new job starts; the running one gets {@code shutdown-grace} to finish,
     * then it is abandoned at its next checkpoint without an outcome event (its offset is not
     * committed, so Kafka redelivers it). Called on SIGTERM by {@link GracefulShutdown} while
     * everything (Kafka, S3, ONNX Runtime) is still up, and again — then usually a no-op — when the
     * application shuts down.
     */
    public void drain() {
        lifecycle.drain(config.shutdownGrace());
    }

    void onShutdown(@Observes ShutdownEvent event) {
        drain();
    }

    /** True while a job is running. */
    boolean busy() {
        return lifecycle.busy();
    }
}
