package dev.mergeline.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * Encodes and decodes {@link CloudEvent}s in CloudEvents 1.0 JSON structured mode
 * ({@value #CONTENT_TYPE}):
 * <pre>{"specversion":"1.0","id":…,"source":…,"type":…,"subject":…,"time":…,"datacontenttype":"application/json","data":{…}}</pre>
 * Decoding checks {@code specversion}, that {@code type} is the one of the requested data class,
 * and every required attribute and data field; anything wrong is an {@link EventFormatException}
 * naming the field and value. Unknown attributes (CloudEvents extensions) and unknown data fields
 * are ignored, so newer producers can add fields. Thread-safe.
 */
public final class EventCodec {
    /** Content type of an event in structured mode (Kafka header {@code content-type}). */
    public static final String CONTENT_TYPE = "application/cloudevents+json";
    /** {@code datacontenttype} of every event. */
    public static final String DATA_CONTENT_TYPE = "application/json";

    private static final EventCodec INSTANCE = new EventCodec();

    /** A shared instance (the codec holds no state). */
    public static EventCodec instance() {
        return INSTANCE;
    }

    /** UTF-8 JSON of the event, attributes in the order of the CloudEvents spec, then data. */
    public byte[] encode(CloudEvent<?> event) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("specversion", CloudEvent.SPEC_VERSION);
        root.put("id", event.id());
        root.put("source", event.source());
        root.put("type", event.type());
        root.put("subject", event.subject());
        root.put("time", DateTimeFormatter.ISO_INSTANT.format(event.time()));
        root.put("datacontenttype", DATA_CONTENT_TYPE);
        root.set("data", Json.MAPPER.valueToTree(event.data()));
        try {
            return Json.MAPPER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + event.type(), e);
        }
    }

    /**
     * Decodes an event whose data must be {@code dataClass}.
     *
     * @throws EventFormatException malformed JSON, wrong {@code specversion}, a {@code type} other
     *     than {@code dataClass}'s, a missing or invalid attribute or data field
     */
    public <T> CloudEvent<T> decode(byte[] json, Class<T> dataClass) {
        EventType expected = EventType.forDataClass(dataClass);
        ObjectNode root = envelope(json);
        String type = attribute(root, "type");
        if (!expected.type().equals(type)) {
            throw EventFormatException.invalid("type", type, "expected \"" + expected.type() + "\"");
        }
        return decode(root, type, dataClass);
    }

    /**
     * Decodes an event of any of the {@link EventType}s (e.g. both types on {@code merge-failures});
     * dispatch on {@code event.data()} or {@link CloudEvent#eventType()}.
     */
    public CloudEvent<? extends EventData> decodeAny(byte[] json) {
        ObjectNode root = envelope(json);
        String type = attribute(root, "type");
        EventType eventType = EventType.fromType(type)
                .orElseThrow(() -> EventFormatException.invalid("type", type, "unknown event type"));
        return decode(root, type, eventType.dataClass());
    }

    private static <T> CloudEvent<T> decode(ObjectNode root, String type, Class<T> dataClass) {
        String id = attribute(root, "id");
        String source = attribute(root, "source");
        String subject = attribute(root, "subject");
        Instant time = time(attribute(root, "time"));
        JsonNode contentType = root.get("datacontenttype");
        if (contentType != null && !contentType.isNull() && !isJson(contentType)) {
            throw EventFormatException.invalid("datacontenttype", contentType.isTextual() ? contentType.asText()
                    : contentType.toString(), "expected \"" + DATA_CONTENT_TYPE + "\"");
        }
        if (root.has("data_base64")) {
            throw EventFormatException.invalid("data_base64", "…", "binary data is not accepted; data must be JSON");
        }
        JsonNode data = root.get("data");
        if (data == null || data.isNull()) {
            throw EventFormatException.missing("data");
        }
        if (!data.isObject()) {
            throw EventFormatException.invalid("data", data.toString(), "must be a JSON object");
        }
        T payload = Json.bind(data, dataClass, "data");
        return new CloudEvent<>(id, source, type, subject, time, payload);
    }

    private static ObjectNode envelope(byte[] json) {
        JsonNode node = Json.parse(json);
        if (!(node instanceof ObjectNode root)) {
            throw new EventFormatException(null, EventFormatException.abbreviate(node.toString()),
                    "a CloudEvent must be a JSON object");
        }
        String specversion = attribute(root, "specversion");
        if (!CloudEvent.SPEC_VERSION.equals(specversion)) {
            throw EventFormatException.invalid("specversion", specversion, "expected \"1.0\"");
        }
        return root;
    }

    /** A required, non-empty string attribute. */
    private static String attribute(ObjectNode root, String name) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            throw EventFormatException.missing(name);
        }
        if (!v.isTextual()) {
            throw EventFormatException.invalid(name, v.toString(), "must be a string");
        }
        if (v.asText().isEmpty()) {
            throw EventFormatException.invalid(name, "", "must not be empty");
        }
        return v.asText();
    }

    private static Instant time(String value) {
        try {
            // RFC 3339: 'Z' or a numeric offset; both are accepted, encoding always writes UTC 'Z'.
            return OffsetDateTime.parse(value, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw EventFormatException.invalid("time", value, "not an RFC 3339 timestamp");
        }
    }

    private static boolean isJson(JsonNode contentType) {
        if (!contentType.isTextual()) {
            return false;
        }
        String t = contentType.asText().toLowerCase(Locale.ROOT);
        int semicolon = t.indexOf(';');
        return (semicolon < 0 ? t : t.substring(0, semicolon)).strip().equals(DATA_CONTENT_TYPE);
    }
}
