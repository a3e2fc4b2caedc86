package dev.mergeline.worker;

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
 */
@ApplicationScoped
public class MergeRequestConsumer {
    private static final Logger LOG = Logger.getLogger(MergeRequestConsumer.class);

    @Inject
    MergeJobService jobs;

    @Incoming("merge-requests")
    @Blocking(ordered = true)
    public void consume(byte[] value) {
        MergeRequested job;
        try {
            job = EventCodec.instance().decode(value, MergeRequested.class).data();
        } catch (EventFormatException e) {
            // Not a job this worker can run; it cannot become valid by retrying.
            LOG.errorf("skipping malformed merge request: %s", e.getMessage());
            return;
        }
        jobs.run(job);
    }
}
