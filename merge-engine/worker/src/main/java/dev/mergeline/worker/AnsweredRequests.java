package dev.mergeline.worker;

import dev.mergeline.core.output.Hashes;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.OutputRef;
import dev.mergeline.s3.ObjectStore;
import dev.mergeline.s3.StorageException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Which requests were answered. Each request is identified by its CloudEvent id (the functions
 * derive it from the upload that triggered it, so every delivery of the same trigger has the same
 * id). After a job's ready event is acknowledged, the worker records the id with an empty marker
 * object {@code merged/<id>/.requests/<jobId>/<requestId>} — beside the job's output prefix, never
 * in it. Markers are written after the event is acknowledged: a crash in between costs at most one
 * flagged re-emission, never a lost event.
 */
final class AnsweredRequests {
    private static final Logger LOG = Logger.getLogger(AnsweredRequests.class);
    /** Marker folder beside the job prefixes of one adapter: {@code merged/<id>/.requests/<jobId>/}. */
    static final String REQUESTS_FOLDER = ".requests/";
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private final ObjectStore store;
    private final String bucket;

    AnsweredRequests(ObjectStore store, String bucket) {
        this.store = store;
        this.bucket = bucket;
    }

    /** True when {@code requestId} was answered for {@code job}. */
    boolean answered(MergeRequested job, String requestId) throws StorageException {
        return store.head(bucket, markerKey(job, requestId)).isPresent();
    }

    /**
     * Records that {@code requestId} was answered (after its event was acknowledged). Best effort: if
     * the store refuses, a later duplicate of this request re-emits a flagged ready event instead of
     * being dropped — the job itself is done, so it must not fail now.
     */
    void markAnswered(MergeRequested job, String requestId) {
        try {
            store.putBytes(new byte[0], bucket, markerKey(job, requestId), "application/octet-stream");
        } catch (StorageException e) {
            LOG.warnf("job %s: could not record request %s as answered (%s); a duplicate of it would re-emit",
                    job.jobId(), requestId, e.getMessage());
        }
    }

    /**
     * {@code merged/<id>/.requests/<jobId>/<requestId>}; a request id that is not a safe key segment
     * is replaced by its SHA-256.
     */
    static String markerKey(MergeRequested job, String requestId) {
        String jobPrefix = OutputRef.prefixFor(job.adapter().location(), job.jobId());
        String adapterRoot = jobPrefix.substring(0, jobPrefix.length() - job.jobId().length() - 1);
        String name = SAFE_NAME.matcher(requestId).matches() && !requestId.equals(".") && !requestId.equals("..")
                ? requestId
                : Hashes.sha256(requestId.getBytes(StandardCharsets.UTF_8));
        return adapterRoot + REQUESTS_FOLDER + job.jobId() + "/" + name;
    }
}
