package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.merge.VerificationFailedException;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.s3.StorageException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import org.junit.jupiter.api.Test;

/** Each kind of failed attempt and the verdict it gets. */
class JobFailuresTest {
    private static final StorageException UNAVAILABLE = new StorageException("get failed: HTTP 503", true, null);

    private static JobFailures.Fail fail(Exception e, boolean attemptsLeft) {
        return assertInstanceOf(JobFailures.Fail.class, JobFailures.classify(e, attemptsLeft, false));
    }

    @Test
    void aTransientStorageFailureWithAttemptsLeftIsRetried() {
        JobFailures.Retry retry = assertInstanceOf(JobFailures.Retry.class,
                JobFailures.classify(UNAVAILABLE, true, false));
        assertEquals("get failed: HTTP 503", retry.cause());
    }

    @Test
    void aTransientStorageFailureOnTheLastAttemptFailsRetriably() {
        JobFailures.Fail f = fail(UNAVAILABLE, false);
        assertEquals("STORAGE_UNAVAILABLE", f.problems().get(0).code());
        assertTrue(f.retriable());
    }

    @Test
    void aPermanentStorageFailureFailsAtOnce() {
        JobFailures.Fail f = fail(new StorageException("access denied", false, null), true);
        assertEquals("STORAGE_UNAVAILABLE", f.problems().get(0).code());
        assertFalse(f.retriable());
    }

    @Test
    void rejectedInputsKeepTheirReasons() {
        Reason reason = Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, "config.json", "config.json is missing");
        JobFailures.Fail f = fail(new RejectedException(reason), true);
        assertTrue(f.rejected());
        assertFalse(f.retriable());
        assertEquals("BASE_MODEL_UNKNOWN", f.problems().get(0).code());
        assertEquals("config.json", f.problems().get(0).tensor());
    }

    @Test
    void aScratchBudgetTooSmallIsADiskFullFailure() {
        JobFailures.Fail f = fail(new InputStaging.ScratchSpaceException("needs 10 bytes"), true);
        assertEquals("SCRATCH_DISK_FULL", f.problems().get(0).code());
        assertTrue(f.retriable());
    }

    @Test
    void aLocalWriteFailureIsAnOutputWriteFailure() {
        JobFailures.Fail f = fail(new IOException("read-only file system"), true);
        assertEquals("OUTPUT_WRITE_FAILED", f.problems().get(0).code());
        assertFalse(f.retriable());
    }

    @Test
    void failedVerificationNamesTheTensorAndIsRetriable() {
        JobFailures.Fail f = fail(new VerificationFailedException("model.layers.0.q_proj.weight", "residual 3.0"),
                true);
        assertEquals("VERIFICATION_FAILED", f.problems().get(0).code());
        assertEquals("model.layers.0.q_proj.weight", f.problems().get(0).tensor());
        assertTrue(f.retriable());
    }

    @Test
    void anUnexpectedErrorIsAnInternalError() {
        JobFailures.Fail f = fail(new IllegalStateException("bug"), true);
        assertEquals("INTERNAL_ERROR", f.problems().get(0).code());
        assertFalse(f.retriable());
    }

    @Test
    void anUnexpectedErrorWhileStoppingHandsTheJobBack() {
        assertInstanceOf(JobFailures.HandBack.class,
                JobFailures.classify(new IllegalStateException("runtime closed"), true, true));
    }

    @Test
    void aFullDiskIsRecognisedAnywhereInTheCauseChain() {
        IOException enospc = new FileSystemException("/scratch/x/base/model.safetensors", null,
                "No space left on device");
        assertTrue(JobFailures.isDiskFull(enospc));
        assertTrue(JobFailures.isDiskFull(new StorageException("cannot write /scratch/x", false, enospc)));
        assertTrue(JobFailures.isDiskFull(new IllegalStateException("merge failed", new IOException(
                "No space left on device"))));
        assertFalse(JobFailures.isDiskFull(UNAVAILABLE));
        assertEquals("SCRATCH_DISK_FULL", fail(new IllegalStateException("merge failed", enospc), true)
                .problems().get(0).code());
    }
}
