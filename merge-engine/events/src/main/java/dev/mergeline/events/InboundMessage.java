package dev.mergeline.events;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A message on {@code adapter-uploads}: an S3 event notification ({@link S3EventNotification}, its
 * {@code ObjectCreated} records) or an {@link AdapterAnnouncement}.
 */
public sealed interface InboundMessage permits S3EventNotification, AdapterAnnouncement {

    /**
     * Parses either kind.
     *
     * @throws EventFormatException malformed JSON, or a document that is neither kind, or one
     *     whose fields break the rules (message names the field and value)
     */
    static InboundMessage parse(byte[] json) {
        JsonNode root = Json.parse(json);
        if (!root.isObject()) {
            throw new EventFormatException(null, EventFormatException.abbreviate(root.toString()),
                    "expected a JSON object (S3 event notification or adapter announcement)");
        }
        if (S3EventNotification.looksLike(root)) {
            return S3EventNotification.parse(root);
        }
        if (root.has("adapter")) {
            return AdapterAnnouncement.parse(root);
        }
        throw new EventFormatException(null, null,
                "neither an S3 event notification (\"Records\") nor an adapter announcement (\"adapter\")");
    }
}
