package dev.mergeline.worker;

import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeProgress;
import dev.mergeline.events.MergedModelReady;
import java.time.Duration;

/** Where a merge job publishes its progress and its outcome ({@link WorkerEvents} on Kafka). */
interface JobEvents {
    /** Sends a progress event without waiting; never fails the job. */
    void progress(MergeProgress data);

    /** Waits up to {@code timeout} until the progress sent so far is delivered; gives up quietly. */
    void awaitProgress(Duration timeout);

    /**
     * Publishes a ready event and returns once it is durable.
     *
     * @throws JobHandedBack when it could not be published (the request must stay uncommitted)
     */
    void ready(MergedModelReady data);

    /** As {@link #ready}, for a failure. */
    void failed(MergeFailed data);
}
