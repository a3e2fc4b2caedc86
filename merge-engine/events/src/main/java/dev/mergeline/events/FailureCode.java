package dev.mergeline.events;

/**
 * Codes of failures that are not validation findings (those are
 * reason codes (core's {@code ReasonCode})). They appear as {@link Problem#code()} in
 * {@link MergeFailed} events, in the same shape as reason codes. Names never change once released.
 */
public enum FailureCode {
    /** S3 (or another storage dependency) stayed unreachable or kept failing after retries. */
    STORAGE_UNAVAILABLE("storage unavailable", true),
    /** The worker's scratch disk could not hold the inputs or the output being written. */
    SCRATCH_DISK_FULL("scratch disk full", true),
    /** Writing or uploading the merged output failed. */
    OUTPUT_WRITE_FAILED("output write failed", true),
    /**
     * An input read during the merge is not what validation saw: its ETag changed, it is truncated,
     * or its bytes contradict its header.
     */
    INPUT_CORRUPT("input corrupt", false),
    /** A message that does not follow the contract (malformed JSON, bad fields). */
    MALFORMED_MESSAGE("malformed message", false),
    /**
     * The merged bytes disagree with the adapter beyond rounding (the merge's own verification): a
     * faulty kernel or memory. Nothing was published; another worker or the CPU kernel may succeed.
     */
    VERIFICATION_FAILED("verification failed", true),
    /** A bug: anything unexpected. */
    INTERNAL_ERROR("internal error", false);

    private final String summary;
    private final boolean retriable;

    FailureCode(String summary, boolean retriable) {
        this.summary = summary;
        this.retriable = retriable;
    }

    /** A short human summary; each {@link Problem} carries a specific message. */
    public String summary() {
        return summary;
    }

    /** Whether running the same job again can succeed once the condition clears (the default for {@link MergeFailed#retriable()}). */
    public boolean retriable() {
        return retriable;
    }
}
