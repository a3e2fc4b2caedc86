package dev.mergeline.worker;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;
import sun.misc.Signal;

/**
 * SIGTERM drains the worker before the JVM shuts down. By default SIGTERM starts the JVM's shutdown
 * hooks at once and all together — among them ONNX Runtime's, which releases its native environment
 * while a merge may still need it, so no merge could finish. Instead this handler lets
 * {@link MergeJobService#drain()} finish (or hand back) the running job while Kafka, S3 and ONNX
 * Runtime are all still up, and only then exits (status 143, as for a plain SIGTERM). A second
 * SIGTERM exits at once. Only in a packaged (prod) run; off with
 * {@code mergeline.worker.drain-on-sigterm=false}. Without it the application's shutdown still
 * drains, best effort: a merge that then fails for lack of ONNX Runtime is handed back, not failed.
 */
@ApplicationScoped
public class GracefulShutdown {
    private static final Logger LOG = Logger.getLogger(GracefulShutdown.class);
    static final int EXIT_STATUS = 128 + 15;

    @Inject
    MergeJobService jobs;
    @Inject
    WorkerConfig config;

    private final AtomicBoolean draining = new AtomicBoolean();

    void onStart(@Observes StartupEvent event) {
        if (!config.drainOnSigterm() || LaunchMode.current() != LaunchMode.NORMAL) {
            return; // dev and test mode: leave the JVM's (and the test runner's) signal handling alone
        }
        try {
            Signal.handle(new Signal("TERM"), signal -> onTerm());
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            LOG.warnf("cannot handle SIGTERM (%s); a running merge is handed back at shutdown instead", e);
        }
    }

    private void onTerm() {
        if (!draining.compareAndSet(false, true)) {
            LOG.warn("second SIGTERM: exiting now");
            exit();
            return;
        }
        Thread drain = new Thread(() -> {
            try {
                jobs.drain();
            } catch (RuntimeException e) {
                LOG.error("draining failed", e);
            } finally {
                exit();
            }
        }, "mergeline-drain");
        drain.start();
    }

    private static void exit() {
        // From a new thread: System.exit blocks until the shutdown hooks are done.
        new Thread(() -> System.exit(EXIT_STATUS), "mergeline-exit").start();
    }
}
