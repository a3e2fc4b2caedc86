package dev.mergeline.worker;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFormatException;
import dev.mergeline.events.MergeRequested;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Thin entry point: one {@code merge-requests} record at a time (ordered, blocking); the offset is
 * committed after {@link MergeJobService#run} returns, i.e. after the outcome event was acknowledged.
 * A job handed back at shutdown ends this method with {@link JobHandedBack}: the record
 * is nacked, never acknowledged, so its offset is not committed and Kafka redelivers it to the next
 * worker (the channel's failure strategy must stay {@code fail}; {@code ignore} would commit it).
 */
@ApplicationScoped
public class MergeRequestConsumer {
    private static final Logger LOG = Logger.getLogger(MergeRequestConsumer.class);

    @Inject
    MergeJobService jobs;
    @Inject
    TaskProtection protection;

    @Incoming("merge-requests")
    @Blocking(ordered = true)
    public void consume(byte[] value) {
        CloudEvent<MergeRequested> request;
        try {
            request = EventCodec.instance().decode(value, MergeRequested.class);
        } catch (EventFormatException e) {
            // Not a job this worker can run; it cannot become valid by retrying.
            LOG.errorf("skipping malformed merge request: %s", e.getMessage());
            return;
        }
        protection.protect(request.data().jobId()); // ECS scale-in spares this task until release
        try {
            jobs.run(request.data(), request.id());
        } catch (JobHandedBack e) {
            LOG.warn(e.getMessage());
            throw e;
        } finally {
            protection.release(request.data().jobId());
        }
    }
}
