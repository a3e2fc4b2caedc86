package dev.mergeline.worker;

import dev.mergeline.core.run.InputLimits;
import dev.mergeline.quarkus.MergelineSettings;
import java.time.Duration;

/**
 * What a merge job takes from the worker's configuration.
 *
 * @param bucket the bucket of inputs and outputs
 * @param jobAttempts attempts of a job whose storage fails transiently
 * @param retryBackoff pause before the second attempt, doubled before each further one
 * @param progressInterval least time between two progress events of a phase
 * @param limits input limits (unset ones are core's defaults)
 * @param mergeBlockBytes fp32 bytes of work per merge block
 * @param scratch how much of the scratch volume a job may use
 * @param testDelayAfterDownload test hook: pause after the inputs are downloaded
 * @param testDelayBeforeManifest test hook: pause before MANIFEST.json is uploaded
 */
record JobSettings(
        String bucket,
        int jobAttempts,
        Duration retryBackoff,
        Duration progressInterval,
        InputLimits limits,
        long mergeBlockBytes,
        InputStaging.ScratchBudget scratch,
        Duration testDelayAfterDownload,
        Duration testDelayBeforeManifest) {

    static JobSettings from(MergelineSettings shared, WorkerConfig w) {
        return new JobSettings(shared.bucket(), w.jobAttempts(), w.retryBackoff(), w.progressInterval(),
                shared.limits().inputLimits(), w.mergeBlockSize().asLongValue(),
                new InputStaging.ScratchBudget(w.maxScratchBytes(), w.minFreeScratchBytes()),
                w.testDelayAfterDownload(), w.testDelayBeforeManifest());
    }
}
