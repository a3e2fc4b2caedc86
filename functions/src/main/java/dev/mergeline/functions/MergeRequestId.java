package dev.mergeline.functions;

import dev.mergeline.events.AdapterLocation;
import dev.mergeline.s3.ObjectInfo;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * The CloudEvent {@code id} of a {@code merge.requested} event: a name-based UUID of the job and
 * of the adapter <em>upload</em> that triggered it — every object under the adapter's prefix with
 * its ETag and last-modified time.
 *
 * <p>Every delivery that describes the same upload gets the same id: a redelivered S3 notification,
 * the notifications of the adapter's two files (whichever arrives last sees both), a retried Lambda
 * invocation, a redelivered {@code adapter-uploads} record. The worker handles each id once per job
 * and drops repeats silently. Uploading again — even the same bytes — changes the last-modified time
 * and so makes a new request, which for a completed job re-emits its ready event. As the CloudEvents
 * spec allows, consumers may treat events with the same {@code source} and {@code id} as duplicates.
 */
final class MergeRequestId {
    private static final String DOMAIN = "mergeline/merge-request/v1";

    private MergeRequestId() {}

    static String of(String jobId, AdapterLocation adapter, List<ObjectInfo> adapterObjects) {
        StringBuilder s = new StringBuilder(DOMAIN).append('\n')
                .append(jobId).append('\n')
                .append(adapter.bucket()).append('\n')
                .append(adapter.prefix()).append('\n');
        adapterObjects.stream().sorted(Comparator.comparing(ObjectInfo::key)).forEach(o -> s
                .append(o.key()).append('\t')
                .append(o.etag()).append('\t')
                .append(o.lastModified()).append('\n'));
        return UUID.nameUUIDFromBytes(s.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }
}
