package dev.mergeline.worker;

import dev.mergeline.core.merge.VerificationFailedException;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.FailureCode;
import dev.mergeline.events.Problem;
import dev.mergeline.quarkus.WireMapping;
import dev.mergeline.s3.StorageException;
import java.io.IOException;
import java.util.List;

/** What a failed attempt of a merge job means: try again, end the job with a failure, or hand it back. */
final class JobFailures {
    private static final String ENOSPC = "No space left on device";

    private JobFailures() {}

    /** The verdict on one failed attempt. */
    sealed interface Verdict {}

    /** A transient storage failure with attempts left: try the job again after a pause. */
    record Retry(String cause) implements Verdict {}

    /**
     * The job ends in {@code merge.failed}.
     *
     * @param rejected the inputs were refused (validation reasons), not a failure of the worker
     */
    record Fail(List<Problem> problems, boolean retriable, boolean rejected) implements Verdict {
        Fail(FailureCode code, String message, boolean retriable) {
            this(List.of(Problem.of(code, message)), retriable, false);
        }
    }

    /** Not an outcome: the worker is stopping; the request stays uncommitted for another worker. */
    record HandBack(String message) implements Verdict {}

    /**
     * Classifies {@code failure} of one attempt.
     *
     * @param attemptsLeft whether the job may be tried again
     * @param stopping whether the worker is shutting down (an unexpected error is then most likely a
     *     consequence of the shutdown itself)
     */
    static Verdict classify(Exception failure, boolean attemptsLeft, boolean stopping) {
        String message = String.valueOf(failure.getMessage());
        if (failure instanceof RejectedException rejected) {
            return new Fail(WireMapping.problems(rejected.reasons()), false, true);
        }
        if (failure instanceof VerificationFailedException verification) {
            return new Fail(List.of(new Problem(FailureCode.VERIFICATION_FAILED.name(), message,
                    verification.tensor(), null, null, null)), true, false);
        }
        if (failure instanceof RuntimeException && stopping) {
            return new HandBack("failed while the worker was stopping (" + failure + "); left for redelivery");
        }
        if (failure instanceof InputStaging.ScratchSpaceException || isDiskFull(failure)) {
            return new Fail(FailureCode.SCRATCH_DISK_FULL, message, true);
        }
        if (failure instanceof StorageException storage) {
            if (storage.retriable() && attemptsLeft) {
                return new Retry(message);
            }
            return new Fail(FailureCode.STORAGE_UNAVAILABLE, message, storage.retriable());
        }
        if (failure instanceof IOException) {
            return new Fail(FailureCode.OUTPUT_WRITE_FAILED, message, false);
        }
        return new Fail(FailureCode.INTERNAL_ERROR, String.valueOf(failure), false);
    }

    /** ENOSPC anywhere in the cause chain (a download or the merge filled the scratch disk). */
    static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.contains(ENOSPC)) {
                return true;
            }
        }
        return false;
    }
}
