package dev.mergeline.worker;

/**
 * The job is not finished and must be redelivered: its request stays uncommitted. Thrown when the
 * worker stops in the middle of a job, and when no outcome event could be published.
 */
public final class JobHandedBack extends RuntimeException {
    public JobHandedBack(String message) {
        super(message, null, false, false);
    }
}
