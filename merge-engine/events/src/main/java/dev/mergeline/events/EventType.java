package dev.mergeline.events;

import java.util.Optional;

/** The outbound CloudEvents types, each with its topic and payload record. */
public enum EventType {
    /** Validation passed; the worker should merge. */
    MERGE_REQUESTED("dev.mergeline.merge.requested", Topics.MERGE_REQUESTS, MergeRequested.class),
    /** MANIFEST.json was written: the merged checkpoint is complete. */
    MERGED_MODEL_READY("dev.mergeline.merged-model.ready", Topics.MERGED_MODEL_READY, MergedModelReady.class),
    /** Validation rejected the adapter, with reason codes. */
    ADAPTER_REJECTED("dev.mergeline.adapter.rejected", Topics.MERGE_FAILURES, AdapterRejected.class),
    /** The merge failed (after retries, or for a reason retrying cannot fix). */
    MERGE_FAILED("dev.mergeline.merge.failed", Topics.MERGE_FAILURES, MergeFailed.class),
    /** Progress of a long merge; optional, best effort. */
    MERGE_PROGRESS("dev.mergeline.merge.progress", Topics.MERGE_PROGRESS, MergeProgress.class),
    /** An inbound record on adapter-uploads could not be parsed; reported, never blocking its batch. */
    MESSAGE_MALFORMED("dev.mergeline.message.malformed", Topics.MERGE_FAILURES, MessageMalformed.class);

    private final String type;
    private final String topic;
    private final Class<? extends EventData> dataClass;

    EventType(String type, String topic, Class<? extends EventData> dataClass) {
        this.type = type;
        this.topic = topic;
        this.dataClass = dataClass;
    }

    /** The CloudEvents {@code type} attribute. */
    public String type() {
        return type;
    }

    /** The Kafka topic events of this type are published to. */
    public String topic() {
        return topic;
    }

    /** The record carried as {@code data}. */
    public Class<? extends EventData> dataClass() {
        return dataClass;
    }

    /** The event type with this CloudEvents {@code type} attribute, if it is one of ours. */
    public static Optional<EventType> fromType(String type) {
        for (EventType t : values()) {
            if (t.type.equals(type)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The event type whose payload is {@code dataClass}. */
    public static EventType forDataClass(Class<?> dataClass) {
        for (EventType t : values()) {
            if (t.dataClass == dataClass) {
                return t;
            }
        }
        throw new IllegalArgumentException("not an event payload class: " + dataClass.getName());
    }
}
