package dev.mergeline.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An S3 event notification (as S3 sends it to SQS, SNS and Lambda, and as
 * LocalStack does): {@code {"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
 * "s3":{"bucket":{"name":…},"object":{"key":…,"size":…,"eTag":…,"sequencer":…}}}]}}.
 * Only {@code ObjectCreated:*} records are kept; other events (removals, ...) are dropped. The
 * {@code s3:TestEvent} S3 sends when a notification is configured has no records.
 *
 * @param records the ObjectCreated records, in message order
 */
public record S3EventNotification(List<ObjectCreated> records) implements InboundMessage {
    static final String TEST_EVENT = "s3:TestEvent";

    public S3EventNotification {
        records = Check.list(records, "Records");
    }

    /** Parses a notification (see {@link #parse(JsonNode)}). */
    public static S3EventNotification parse(byte[] json) {
        return parse(Json.parse(json));
    }

    /**
     * Parses a notification; keys are URL-decoded in form style ({@code +} is a space, {@code %2B}
     * a plus), as S3 encodes them.
     *
     * @throws EventFormatException not a notification, or a record without bucket name, key or
     *     size, or a key with invalid percent-encoding
     */
    public static S3EventNotification parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new EventFormatException(null, null, "an S3 event notification must be a JSON object");
        }
        JsonNode records = root.get("Records");
        if (records == null || records.isNull()) {
            if (TEST_EVENT.equals(root.path("Event").asText(null))) {
                return new S3EventNotification(List.of());
            }
            throw EventFormatException.missing("Records");
        }
        if (!records.isArray()) {
            throw EventFormatException.invalid("Records", records.toString(), "must be an array");
        }
        List<ObjectCreated> created = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            String at = "Records[" + i + "]";
            JsonNode r = records.get(i);
            if (!r.isObject()) {
                throw EventFormatException.invalid(at, r.toString(), "must be an object");
            }
            String source = optionalText(r, "eventSource", at);
            if (source != null && !source.endsWith(":s3")) {
                throw EventFormatException.invalid(at + ".eventSource", source, "expected \"aws:s3\"");
            }
            String eventName = text(r, "eventName", at);
            if (!eventName.startsWith("ObjectCreated:")) {
                continue;
            }
            JsonNode s3 = object(r, "s3", at);
            JsonNode bucket = object(s3, "bucket", at + ".s3");
            JsonNode object = object(s3, "object", at + ".s3");
            String bucketName = text(bucket, "name", at + ".s3.bucket");
            String rawKey = text(object, "key", at + ".s3.object");
            long size = number(object, "size", at + ".s3.object");
            String eTag = optionalText(object, "eTag", at + ".s3.object");
            String sequencer = optionalText(object, "sequencer", at + ".s3.object");
            try {
                created.add(new ObjectCreated(bucketName, decodeKey(rawKey, at + ".s3.object.key"), size, eTag,
                        sequencer, eventName));
            } catch (EventFormatException e) {
                if (e.field() != null && e.field().startsWith(at)) {
                    throw e;
                }
                throw "bucket".equals(e.field())
                        ? new EventFormatException(at + ".s3.bucket.name", e.value(), e.problem())
                        : e.under(at + ".s3.object");
            }
        }
        return new S3EventNotification(created);
    }

    /** Form-style URL decoding, as S3 encodes keys in notifications. */
    public static String decodeKey(String rawKey) {
        return decodeKey(rawKey, "key");
    }

    private static String decodeKey(String rawKey, String field) {
        try {
            return URLDecoder.decode(rawKey, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw EventFormatException.invalid(field, rawKey, "invalid URL encoding");
        }
    }

    static boolean looksLike(JsonNode root) {
        return root.has("Records") || TEST_EVENT.equals(root.path("Event").asText(null));
    }

    private static JsonNode object(JsonNode parent, String name, String at) {
        JsonNode v = parent.get(name);
        if (v == null || v.isNull()) {
            throw EventFormatException.missing(at + "." + name);
        }
        if (!v.isObject()) {
            throw EventFormatException.invalid(at + "." + name, v.toString(), "must be an object");
        }
        return v;
    }

    private static String text(JsonNode parent, String name, String at) {
        String v = optionalText(parent, name, at);
        if (v == null) {
            throw EventFormatException.missing(at + "." + name);
        }
        return v;
    }

    private static String optionalText(JsonNode parent, String name, String at) {
        JsonNode v = parent.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw EventFormatException.invalid(at + "." + name, v.toString(), "must be a string");
        }
        return v.asText();
    }

    private static long number(JsonNode parent, String name, String at) {
        JsonNode v = parent.get(name);
        if (v == null || v.isNull()) {
            throw EventFormatException.missing(at + "." + name);
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw EventFormatException.invalid(at + "." + name, v.toString(), "must be an integer");
        }
        return v.longValue();
    }
}
