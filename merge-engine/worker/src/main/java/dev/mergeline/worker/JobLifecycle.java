package dev.mergeline.worker;

import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * The worker's shutdown state machine: running one job at a time, then stopping (no new job
 * starts, the running one gets a grace period), then abandoning the running job at its next
 * checkpoint ({@link #checkAbort}, {@link #pause}) so that it ends in {@link JobHandedBack}.
 */
final class JobLifecycle {
    private static final Logger LOG = Logger.getLogger(JobLifecycle.class);
    /** How long {@link #drain} waits for an abandoned job to reach its next checkpoint. */
    private static final Duration ABANDON_WAIT = Duration.ofSeconds(5);

    /** Guards {@link #running}; also what abort-aware pauses wait on. */
    private final Object lock = new Object();
    private String running;
    private volatile boolean stopping;
    private volatile boolean abort;

    /**
     * Marks {@code jobId} as running.
     *
     * @throws JobHandedBack when the worker is stopping
     */
    void begin(String jobId) {
        synchronized (lock) {
            if (stopping) {
                throw new JobHandedBack("worker is stopping; job " + jobId + " left for redelivery");
            }
            running = jobId;
        }
    }

    /** The running job ended (any way). */
    void end() {
        synchronized (lock) {
            running = null;
            lock.notifyAll();
        }
    }

    /** True while a job is running. */
    boolean busy() {
        synchronized (lock) {
            return running != null;
        }
    }

    /** True once {@link #drain} was called. */
    boolean stopping() {
        return stopping;
    }

    /**
     * Stops taking jobs: no new job starts; the running one gets {@code grace} to finish, then it is
     * abandoned at its next checkpoint. Returns when no job runs any more, or a few seconds after
     * abandoning one that does not reach a checkpoint.
     */
    void drain(Duration grace) {
        synchronized (lock) {
            stopping = true;
            if (running == null) {
                return;
            }
            LOG.infof("stopping: waiting up to %s for job %s to finish", grace, running);
            if (!awaitIdle(grace)) {
                String job = running;
                abort = true;
                lock.notifyAll();
                LOG.warnf("job %s did not finish within %s; handing it back uncommitted for redelivery", job, grace);
                awaitIdle(ABANDON_WAIT);
            }
        }
    }

    /** Throws {@link JobHandedBack} once shutdown gave up on the running job. */
    void checkAbort(String jobId) {
        if (abort) {
            throw new JobHandedBack("worker stopped before job " + jobId + " finished; left for redelivery");
        }
    }

    /** Sleeps, but returns early (with {@link JobHandedBack}) when shutdown abandons the job. */
    void pause(String jobId, Duration duration) {
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
        checkAbort(jobId);
    }

    /** Called with {@link #lock} held. */
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
}
