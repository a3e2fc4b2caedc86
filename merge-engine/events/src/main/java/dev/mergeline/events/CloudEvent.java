package dev.mergeline.events;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * A CloudEvents 1.0 event as Mergeline publishes it (structured mode, JSON data; see
 * {@link EventCodec}). The Kafka record key is {@link #subject()}.
 *
 * @param id unique event id (a random UUID for events Mergeline creates)
 * @param source URI-reference of the producer, e.g. {@code /mergeline/merge-worker}
 * @param type one of {@link EventType}'s types; must match the data's class
 * @param subject the job id, or the adapter id for rejections
 * @param time when the event happened
 * @param data the payload
 * @param <T> payload type
 */
public record CloudEvent<T>(String id, String source, String type, String subject, Instant time, T data) {
    /** CloudEvents {@code specversion}. */
    public static final String SPEC_VERSION = "1.0";

    public CloudEvent {
        Check.text(id, "id");
        Check.text(source, "source");
        try {
            new URI(source);
        } catch (URISyntaxException e) {
            throw EventFormatException.invalid("source", source, "not a URI-reference");
        }
        Check.text(type, "type");
        Check.text(subject, "subject");
        Check.required(time, "time");
        Check.required(data, "data");
        EventType expected = EventType.fromType(type)
                .orElseThrow(() -> EventFormatException.invalid("type", type, "unknown event type"));
        if (!expected.dataClass().isInstance(data)) {
            throw EventFormatException.invalid("type", type,
                    "does not match data of class " + data.getClass().getSimpleName());
        }
    }

    /**
     * A new event: random UUID id, type from the data's class, time now (millisecond precision),
     * subject the data's job id, or the adapter id for {@link AdapterRejected}.
     */
    public static <T extends EventData> CloudEvent<T> create(String source, T data) {
        return create(source, subjectOf(data), data);
    }

    /** A new event with an explicit subject. */
    public static <T extends EventData> CloudEvent<T> create(String source, String subject, T data) {
        Check.required(data, "data");
        return new CloudEvent<>(UUID.randomUUID().toString(), source, EventType.forDataClass(data.getClass()).type(),
                subject, Instant.now().truncatedTo(ChronoUnit.MILLIS), data);
    }

    /** The type as an enum constant. */
    public EventType eventType() {
        return EventType.fromType(type).orElseThrow();
    }

    /** The Kafka topic this event goes to. */
    public String topic() {
        return eventType().topic();
    }

    /** The Kafka record key: the subject (job id, or adapter id before a job exists). */
    public String key() {
        return subject;
    }

    /** The natural subject of a payload: its job id, or the adapter id for a rejection. */
    public static String subjectOf(EventData data) {
        if (data instanceof MergeRequested d) {
            return d.jobId();
        } else if (data instanceof MergedModelReady d) {
            return d.jobId();
        } else if (data instanceof MergeFailed d) {
            return d.jobId();
        } else if (data instanceof MergeProgress d) {
            return d.jobId();
        } else if (data instanceof AdapterRejected d) {
            return d.adapter().id();
        } else if (data instanceof MessageMalformed) {
            return MessageMalformed.SUBJECT;
        }
        throw new IllegalArgumentException("not an event payload: " + data);
    }
}
