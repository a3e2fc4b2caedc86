package dev.mergeline.events;

import java.util.List;

/** Kafka topic names of the contract ({@code docs/contract.md}). */
public final class Topics {
    /** Inbound: S3 event notifications, or adapter announcements ({@link InboundMessage}). */
    public static final String ADAPTER_UPLOADS = "adapter-uploads";
    /** {@link EventType#MERGE_REQUESTED}, keyed by job id. */
    public static final String MERGE_REQUESTS = "merge-requests";
    /** {@link EventType#MERGED_MODEL_READY}, keyed by job id. */
    public static final String MERGED_MODEL_READY = "merged-model-ready";
    /** {@link EventType#ADAPTER_REJECTED} (keyed by adapter id) and {@link EventType#MERGE_FAILED} (by job id). */
    public static final String MERGE_FAILURES = "merge-failures";
    /** {@link EventType#MERGE_PROGRESS}, keyed by job id; optional. */
    public static final String MERGE_PROGRESS = "merge-progress";

    private Topics() {}

    /** Every topic, inbound first. */
    public static List<String> all() {
        return List.of(ADAPTER_UPLOADS, MERGE_REQUESTS, MERGED_MODEL_READY, MERGE_FAILURES, MERGE_PROGRESS);
    }
}
