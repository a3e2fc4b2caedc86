package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code dev.mergeline.merge.progress} on {@code merge-progress}: best-effort progress of one job,
 * published by the worker at each phase change, at most every few seconds within a phase, and once
 * more at 100 % when a phase ends. Consumers must not rely on seeing every event (or any).
 *
 * @param jobId the job
 * @param adapter the adapter (bucket, prefix and id)
 * @param phase what the job is doing now
 * @param bytesDone bytes of the phase done so far: downloaded, written as output tensors, or uploaded
 * @param bytesTotal bytes of the phase in all: the input objects, the output tensors, or the output objects
 * @param tensorsDone output tensors written so far; only in the {@code merge} phase, else null
 * @param tensorsTotal output tensors in all; only in the {@code merge} phase, else null
 * @param elapsedMs milliseconds since the worker started the job
 */
public record MergeProgress(
        String jobId,
        AdapterRef adapter,
        Phase phase,
        @JsonProperty(required = true) long bytesDone,
        @JsonProperty(required = true) long bytesTotal,
        Integer tensorsDone,
        Integer tensorsTotal,
        @JsonProperty(required = true) long elapsedMs) implements EventData {

    /** The phases of a job, in the order a job runs them. */
    public enum Phase {
        /** Base and adapter objects are copied from S3 to the worker's scratch disk. */
        @JsonProperty("download") DOWNLOAD,
        /** The merge engine writes the output tensors. */
        @JsonProperty("merge") MERGE,
        /** The output checkpoint is copied to S3, MANIFEST.json last. */
        @JsonProperty("upload") UPLOAD;

        /** The name on the wire: {@code download}, {@code merge}, {@code upload}. */
        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public MergeProgress {
        Check.jobId(jobId, "jobId");
        Check.required(adapter, "adapter");
        Check.required(phase, "phase");
        Check.nonNegative(bytesDone, "bytesDone");
        Check.nonNegative(bytesTotal, "bytesTotal");
        if (bytesDone > bytesTotal) {
            throw EventFormatException.invalid("bytesDone", bytesDone, "exceeds bytesTotal " + bytesTotal);
        }
        if (tensorsDone != null && tensorsTotal == null) {
            throw EventFormatException.missing("tensorsTotal");
        }
        if (tensorsTotal != null && tensorsDone == null) {
            throw EventFormatException.missing("tensorsDone");
        }
        if (phase == Phase.MERGE && tensorsTotal == null) {
            throw EventFormatException.missing("tensorsTotal");
        }
        if (tensorsTotal != null) {
            Check.nonNegative(tensorsDone, "tensorsDone");
            Check.nonNegative(tensorsTotal, "tensorsTotal");
            if (tensorsDone > tensorsTotal) {
                throw EventFormatException.invalid("tensorsDone", tensorsDone, "exceeds tensorsTotal " + tensorsTotal);
            }
        }
        Check.nonNegative(elapsedMs, "elapsedMs");
    }

    /** A {@code download} or {@code upload} update (no tensor counts). */
    public static MergeProgress transfer(String jobId, AdapterRef adapter, Phase phase, long bytesDone,
            long bytesTotal, long elapsedMs) {
        return new MergeProgress(jobId, adapter, phase, bytesDone, bytesTotal, null, null, elapsedMs);
    }

    /** Whether this is the phase's last update: everything done. */
    public boolean phaseComplete() {
        return bytesDone == bytesTotal && (tensorsTotal == null || tensorsDone.equals(tensorsTotal));
    }
}
