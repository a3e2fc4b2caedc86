package dev.mergeline.worker;

import dev.mergeline.core.merge.ProgressListener;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergeProgress.Phase;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * The progress of one job, turned into {@link MergeProgress} updates for a publisher: the first update
 * of each phase at once, then at most one per {@code interval}, and the phase's 100 % update when
 * {@link #complete} is called. Thread-safe (downloads and uploads report from their part threads, the
 * merge from its write stage). Best effort: a publisher that throws loses that update, never the job.
 * No framework: the clock ({@link System#nanoTime} in production) and the publisher are given.
 */
final class JobProgress {
    private final String jobId;
    private final AdapterRef adapter;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private final Consumer<MergeProgress> publisher;
    private final long started;

    private Phase phase;
    private long bytesDone;
    private long bytesTotal;
    private Integer tensorsDone;
    private Integer tensorsTotal;
    private long lastPublished;
    private MergeProgress lastSent;

    /**
     * @param adapter the job's adapter; only its bucket, prefix and id are published
     * @param interval least time between two updates of one phase
     * @param nanoClock monotonic nanoseconds; the job started at its first reading
     * @param publisher called with each update, under this object's lock
     */
    JobProgress(String jobId, AdapterRef adapter, Duration interval, LongSupplier nanoClock,
            Consumer<MergeProgress> publisher) {
        this.jobId = jobId;
        this.adapter = AdapterRef.of(adapter.location());
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
        this.publisher = publisher;
        this.started = nanoClock.getAsLong();
    }

    /**
     * Starts a transfer phase of {@code bytesTotal} bytes (publishing its 0 % update, also when a
     * retried attempt starts the same phase again) and returns what its transfers report each chunk's
     * bytes to.
     */
    synchronized LongConsumer transfer(Phase transferPhase, long bytesTotal) {
        phase = null;
        report(transferPhase, 0, bytesTotal, null, null);
        return this::add;
    }

    /** What the merge engine reports to: the {@code merge} phase, begun by its first call. */
    ProgressListener merge() {
        return (tensorsDone, tensorsTotal, done, total) -> report(Phase.MERGE, done, total, tensorsDone, tensorsTotal);
    }

    /** Publishes the current phase at 100 %, unless its last update already said so. */
    synchronized void complete() {
        if (phase != null && !(lastSent != null && lastSent.phase() == phase && lastSent.phaseComplete())) {
            bytesDone = bytesTotal;
            tensorsDone = tensorsTotal;
            publish(nanoClock.getAsLong());
        }
    }

    private synchronized void add(long bytes) {
        report(phase, Math.min(bytesTotal, bytesDone + bytes), bytesTotal, tensorsDone, tensorsTotal);
    }

    private synchronized void report(Phase now, long done, long total, Integer tensors, Integer tensorCount) {
        boolean changed = now != phase;
        phase = now;
        bytesDone = done;
        bytesTotal = total;
        tensorsDone = tensors;
        tensorsTotal = tensorCount;
        long time = nanoClock.getAsLong();
        if (changed || time - lastPublished >= intervalNanos) {
            publish(time);
        }
    }

    private void publish(long time) {
        lastPublished = time;
        try {
            lastSent = new MergeProgress(jobId, adapter, phase, bytesDone, bytesTotal, tensorsDone, tensorsTotal,
                    (time - started) / 1_000_000);
            publisher.accept(lastSent);
        } catch (RuntimeException e) {
            // best effort: progress never fails a job (the publisher logs what it could not send)
        }
    }
}
