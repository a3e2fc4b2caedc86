package dev.mergeline.events;

import java.util.List;

/**
 * {@code dev.mergeline.adapter.rejected} on {@code merge-failures} (key and subject: adapter id):
 * validation refused the adapter; every problem found is listed.
 *
 * @param adapter the adapter (bucket, prefix, id; ETags and config fields where known)
 * @param reasons one or more findings, validation reason codes (core's {@code ReasonCode})
 *     (or {@link FailureCode#MALFORMED_MESSAGE} for an announcement that could not be used)
 */
public record AdapterRejected(AdapterRef adapter, List<Problem> reasons) implements EventData {
    public AdapterRejected {
        Check.required(adapter, "adapter");
        reasons = Check.nonEmptyList(reasons, "reasons");
    }
}
