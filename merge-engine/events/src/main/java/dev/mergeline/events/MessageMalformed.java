package dev.mergeline.events;

import java.util.List;

/**
 * {@code dev.mergeline.message.malformed} on {@code merge-failures}: an inbound record (on
 * {@code adapter-uploads}) that is neither an S3 notification nor an announcement. Reported so a
 * subscriber can see it; it never blocks the rest of its batch.
 *
 * @param topic topic the record came from
 * @param excerpt the start of the record value (at most 200 characters), for diagnosis
 * @param reasons what is wrong (code {@code MALFORMED_MESSAGE})
 */
public record MessageMalformed(String topic, String excerpt, List<Problem> reasons) implements EventData {
    /** Subject and key of these events (no adapter or job is known). */
    public static final String SUBJECT = "malformed";

    public MessageMalformed {
        Check.text(topic, "topic");
        Check.required(excerpt, "excerpt");
        reasons = Check.nonEmptyList(reasons, "reasons");
        if (excerpt.length() > 200) {
            excerpt = excerpt.substring(0, 200);
        }
    }
}
