package dev.mergeline.worker;

import dev.mergeline.core.merge.MergeKernel;
import dev.mergeline.onnx.OnnxMergeKernel;
import dev.mergeline.s3.TransferSettings;
import io.quarkus.runtime.Startup;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import org.jboss.logging.Logger;

/** Wires the worker's S3 transfers, scratch space and ONNX Runtime kernel from configuration. */
@ApplicationScoped
public class WorkerBeans {
    private static final Logger LOG = Logger.getLogger(WorkerBeans.class);

    /** Transfers of large objects: the configured part size and concurrency. */
    @Produces
    @Singleton
    TransferSettings transfers(WorkerConfig config) {
        return new TransferSettings(config.s3PartSize().asLongValue(), config.s3Concurrency());
    }

    /** Logs the JVM's memory bounds; warns when one is the JVM's default (see {@link JvmLimits}). */
    void logMemoryBounds(@Observes StartupEvent event) {
        JvmLimits limits;
        try {
            limits = JvmLimits.current();
        } catch (RuntimeException | LinkageError e) { // not a HotSpot JVM
            LOG.warnf("cannot read the JVM's memory bounds (%s); run the worker with explicit -Xmx and"
                    + " -XX:MaxDirectMemorySize", e);
            return;
        }
        if (limits.bounded()) {
            LOG.infof("memory bounds: %s", limits);
        } else {
            LOG.warnf("memory bounds: %s; run the worker with explicit -Xmx and -XX:MaxDirectMemorySize (its images"
                    + " and launch scripts use -Xmx1g -XX:MaxDirectMemorySize=2g)", limits);
        }
    }

    /**
     * The worker's own scratch directory, claimed at startup after the leftovers of workers that are
     * gone were removed ({@link ScratchSpace}).
     */
    @Produces
    @Singleton
    @Startup
    ScratchSpace scratch(WorkerConfig config) throws IOException {
        ScratchSpace scratch = ScratchSpace.open(config.scratchDir());
        LOG.infof("scratch directory %s (%d leftover(s) of workers that are gone removed)", scratch.dir(),
                scratch.removed().size());
        return scratch;
    }

    /** Removes the scratch directory at exit — unless a merge abandoned by the shutdown grace still uses it. */
    void closeScratch(@Disposes ScratchSpace scratch, MergeJobService jobs) throws IOException {
        if (!jobs.busy()) {
            scratch.close();
        }
    }

    /**
     * One kernel for the worker's lifetime: sessions are cached per dtype combination. Created at
     * startup, not on first use: a broken ONNX Runtime fails the start, and a first merge that runs
     * during shutdown does not have to initialise the runtime then (which registers a JVM shutdown
     * hook, refused once shutdown has begun).
     */
    @Produces
    @ApplicationScoped
    @Startup
    MergeKernel kernel(WorkerConfig config) {
        return OnnxMergeKernel.create(config.preferCuda(),
                config.ortThreads().orElse(OnnxMergeKernel.defaultThreads()));
    }

    /**
     * Closes the kernel at shutdown — unless a merge abandoned by the shutdown grace is still using it
     * (the JVM is exiting; closing native sessions under a running merge could crash it instead).
     */
    void closeKernel(@Disposes MergeKernel kernel, MergeJobService jobs) {
        if (!jobs.busy()) {
            kernel.close();
        }
    }
}
