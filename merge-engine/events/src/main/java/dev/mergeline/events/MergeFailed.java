package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code dev.mergeline.merge.failed} on {@code merge-failures}: a merge could not complete.
 * Findings while reading weights (e.g. {@code NON_FINITE_WEIGHTS}) use validation codes; operational
 * failures use {@link FailureCode}s.
 *
 * @param jobId the job
 * @param adapter the adapter
 * @param reasons one or more findings
 * @param retriable whether sending the same merge request again can succeed
 * @param attempts attempts made, this one included
 */
public record MergeFailed(
        String jobId,
        AdapterRef adapter,
        List<Problem> reasons,
        @JsonProperty(required = true) boolean retriable,
        @JsonProperty(required = true) int attempts) implements EventData {

    public MergeFailed {
        Check.jobId(jobId, "jobId");
        Check.required(adapter, "adapter");
        reasons = Check.nonEmptyList(reasons, "reasons");
        Check.nonNegative(attempts, "attempts");
    }
}
