package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * {@code dev.mergeline.merge.requested} on {@code merge-requests}: validation passed; merge this.
 *
 * @param jobId {@link JobId} of adapter ETags, base identity, merge semantics and options
 * @param adapter the adapter, with the ETags that were validated (required)
 * @param base the base, with the ETags of its config and weight files (required)
 * @param options output options; absent means {@link MergeOptions#DEFAULTS}
 * @param validationBytesRead bytes validation read from S3 (configs and safetensors headers only)
 * @param serving per serving engine ({@code vllm}, {@code lorax}): could it serve the adapter unmerged,
 *     and why; null when the producer does not assess it
 */
public record MergeRequested(
        String jobId,
        AdapterRef adapter,
        BaseRef base,
        MergeOptions options,
        @JsonProperty(required = true) long validationBytesRead,
        Map<String, ServingVerdict> serving) implements EventData {

    public MergeRequested {
        Check.jobId(jobId, "jobId");
        Check.required(adapter, "adapter");
        Check.required(adapter.etags(), "adapter.etags");
        Check.required(base, "base");
        Check.required(base.etags(), "base.etags");
        if (options == null) {
            options = MergeOptions.DEFAULTS;
        }
        Check.nonNegative(validationBytesRead, "validationBytesRead");
        if (serving != null) {
            serving = Check.orderedMap(serving, "serving");
        }
    }

    /** A request without a serving assessment. */
    public MergeRequested(String jobId, AdapterRef adapter, BaseRef base, MergeOptions options, long validationBytesRead) {
        this(jobId, adapter, base, options, validationBytesRead, null);
    }
}
