package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * {@code dev.mergeline.merged-model.ready} on {@code merged-model-ready}: MANIFEST.json was written,
 * the checkpoint under {@code output.prefix} is complete.
 *
 * @param jobId the job
 * @param adapter the adapter merged (with ETags, peftType, r, targetModules)
 * @param base the base merged into (name, prefix, identity)
 * @param output where the merged checkpoint is, every file with size and SHA-256
 * @param counts tensors merged / replaced / added / copied
 * @param timingsMs wall time per phase in milliseconds (phase names are informative, not a contract), or null
 * @param engine engine version, merge semantics, execution provider
 * @param reemitted true when the job was already complete and this event was re-emitted without merging again
 * @param verification how the merge checked the bytes it wrote, or null (events of engines that do not verify)
 */
public record MergedModelReady(
        String jobId,
        AdapterRef adapter,
        BaseRef base,
        OutputRef output,
        Counts counts,
        Map<String, Long> timingsMs,
        EngineRef engine,
        @JsonProperty(required = true) boolean reemitted,
        Verification verification) implements EventData {

    public MergedModelReady {
        Check.jobId(jobId, "jobId");
        Check.required(adapter, "adapter");
        Check.required(base, "base");
        Check.required(output, "output");
        Check.required(counts, "counts");
        if (timingsMs != null) {
            timingsMs = Check.orderedMap(timingsMs, "timingsMs");
            timingsMs.forEach((k, v) -> Check.nonNegative(v, "timingsMs." + k));
        }
        Check.required(engine, "engine");
    }

    /** An event without a verification summary. */
    public MergedModelReady(String jobId, AdapterRef adapter, BaseRef base, OutputRef output, Counts counts,
            Map<String, Long> timingsMs, EngineRef engine, boolean reemitted) {
        this(jobId, adapter, base, output, counts, timingsMs, engine, reemitted, null);
    }

    /** The same event, marked as re-emitted for an already complete job. */
    public MergedModelReady asReemitted() {
        return new MergedModelReady(jobId, adapter, base, output, counts, timingsMs, engine, true, verification);
    }
}
