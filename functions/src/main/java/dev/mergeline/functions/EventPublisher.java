package dev.mergeline.functions;

import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventData;
import dev.mergeline.events.EventType;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MessageMalformed;
import dev.mergeline.quarkus.KafkaEvents;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;

/**
 * Publishes validation outcomes as CloudEvents (structured JSON) and waits for the broker's
 * acknowledgement, so nothing is in flight when a Lambda invocation returns.
 */
@ApplicationScoped
public class EventPublisher {
    static final String SOURCE = "/mergeline/functions";
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

    @Inject
    @Channel("merge-requests")
    Emitter<byte[]> mergeRequests;

    @Inject
    @Channel("merge-failures")
    Emitter<byte[]> mergeFailures;

    /**
     * @param eventId the CloudEvent id: the same for every delivery of the same trigger
     *     ({@link MergeRequestId}), so that the worker can drop duplicates
     */
    public void mergeRequested(MergeRequested data, String eventId) {
        send(mergeRequests, data.jobId(), new CloudEvent<>(eventId, SOURCE,
                EventType.forDataClass(MergeRequested.class).type(), data.jobId(),
                Instant.now().truncatedTo(ChronoUnit.MILLIS), data));
    }

    public void adapterRejected(AdapterRejected data) {
        send(mergeFailures, data.adapter().id(), data);
    }

    public void malformed(MessageMalformed data) {
        send(mergeFailures, MessageMalformed.SUBJECT, data);
    }

    private static void send(Emitter<byte[]> emitter, String key, EventData data) {
        send(emitter, key, CloudEvent.create(SOURCE, data));
    }

    private static void send(Emitter<byte[]> emitter, String key, CloudEvent<? extends EventData> event) {
        try {
            KafkaEvents.sendAndWait(emitter, key, event, ACK_TIMEOUT);
        } catch (KafkaEvents.NotAcknowledgedException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending the event for " + key, e);
        }
    }
}
