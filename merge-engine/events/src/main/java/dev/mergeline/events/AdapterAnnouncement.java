package dev.mergeline.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An adapter announced on {@code adapter-uploads} without an S3 trigger:
 * {@code {"adapter":"s3://<bucket>/adapters/<id>/","base":"<name>"}} ({@code base} optional; the
 * trailing slash of the URI too).
 *
 * @param location the adapter
 * @param base the base to merge into, overriding adapter_config.json's
 *     {@code base_model_name_or_path}; null to use that
 */
public record AdapterAnnouncement(AdapterLocation location, String base) implements InboundMessage {
    private static final String SCHEME = "s3://";

    public AdapterAnnouncement {
        Check.required(location, "adapter");
        if (base != null && !BaseRef.isValidName(base)) {
            throw EventFormatException.invalid("base", base,
                    "base name must be '/'-separated segments of A-Z a-z 0-9 . _ - (no '.' or '..' segments)");
        }
    }

    /** Parses an announcement document. */
    public static AdapterAnnouncement parse(byte[] json) {
        return parse(Json.parse(json));
    }

    /**
     * Parses an announcement; unknown fields are ignored.
     *
     * @throws EventFormatException {@code adapter} missing or not {@code s3://<bucket>/adapters/<id>/},
     *     or an invalid {@code base}
     */
    public static AdapterAnnouncement parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new EventFormatException(null, null, "an adapter announcement must be a JSON object");
        }
        JsonNode adapter = root.get("adapter");
        if (adapter == null || adapter.isNull()) {
            throw EventFormatException.missing("adapter");
        }
        if (!adapter.isTextual()) {
            throw EventFormatException.invalid("adapter", adapter.toString(), "must be a string");
        }
        JsonNode base = root.get("base");
        if (base != null && !base.isNull() && !base.isTextual()) {
            throw EventFormatException.invalid("base", base.toString(), "must be a string");
        }
        return new AdapterAnnouncement(parseUri(adapter.asText()),
                base == null || base.isNull() ? null : base.asText());
    }

    /** {@code s3://<bucket>/adapters/<id>/} (trailing slash optional) → location. */
    public static AdapterLocation parseUri(String uri) {
        String problem = "expected s3://<bucket>/adapters/<id>/";
        if (uri == null || !uri.startsWith(SCHEME)) {
            throw EventFormatException.invalid("adapter", uri, problem);
        }
        String rest = uri.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        if (slash <= 0) {
            throw EventFormatException.invalid("adapter", uri, problem);
        }
        String bucket = rest.substring(0, slash);
        String path = rest.substring(slash + 1);
        if (!path.startsWith(AdapterLocation.ROOT)) {
            throw EventFormatException.invalid("adapter", uri, problem);
        }
        String id = path.substring(AdapterLocation.ROOT.length());
        if (id.endsWith("/")) {
            id = id.substring(0, id.length() - 1);
        }
        if (!S3Names.isBucket(bucket) || !AdapterLocation.isValidId(id)) {
            throw EventFormatException.invalid("adapter", uri,
                    problem + " with a valid bucket name and an id of 1-128 characters of A-Z a-z 0-9 . _ -");
        }
        return new AdapterLocation(bucket, id);
    }

    /** The document, as a producer would send it. */
    public byte[] toJson() {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("adapter", location.uri());
        if (base != null) {
            root.put("base", base);
        }
        try {
            return Json.MAPPER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
