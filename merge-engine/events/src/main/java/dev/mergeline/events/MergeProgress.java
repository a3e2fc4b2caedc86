package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code dev.mergeline.merge.progress} on {@code merge-progress}: best-effort progress of a long merge.
 *
 * @param jobId the job
 * @param tensorsDone output tensors written so far
 * @param tensorsTotal output tensors in all
 * @param bytesDone output tensor bytes written so far
 * @param bytesTotal output tensor bytes in all
 */
public record MergeProgress(
        String jobId,
        @JsonProperty(required = true) int tensorsDone,
        @JsonProperty(required = true) int tensorsTotal,
        @JsonProperty(required = true) long bytesDone,
        @JsonProperty(required = true) long bytesTotal) implements EventData {

    public MergeProgress {
        Check.jobId(jobId, "jobId");
        Check.nonNegative(tensorsDone, "tensorsDone");
        Check.nonNegative(tensorsTotal, "tensorsTotal");
        Check.nonNegative(bytesDone, "bytesDone");
        Check.nonNegative(bytesTotal, "bytesTotal");
        if (tensorsDone > tensorsTotal) {
            throw EventFormatException.invalid("tensorsDone", tensorsDone, "exceeds tensorsTotal " + tensorsTotal);
        }
        if (bytesDone > bytesTotal) {
            throw EventFormatException.invalid("bytesDone", bytesDone, "exceeds bytesTotal " + bytesTotal);
        }
    }
}
