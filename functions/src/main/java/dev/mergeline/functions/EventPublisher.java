package dev.mergeline.functions;

import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import dev.mergeline.events.EventType;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.MessageMalformed;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

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
        byte[] value = EventCodec.instance().encode(event);
        CompletableFuture<Void> acked = new CompletableFuture<>();
        Message<byte[]> message = Message.of(value, Metadata.of(OutgoingKafkaRecordMetadata.<String>builder()
                        .withKey(key)
                        .withHeaders(new org.apache.kafka.common.header.internals.RecordHeaders()
                                .add("content-type", EventCodec.CONTENT_TYPE.getBytes(
                                        java.nio.charset.StandardCharsets.UTF_8)))
                        .build()))
                .withAck(() -> {
                    acked.complete(null);
                    return acked;
                })
                .withNack(t -> {
                    acked.completeExceptionally(t);
                    return CompletableFuture.completedFuture(null);
                });
        emitter.send(message);
        try {
            acked.get(ACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("Kafka did not acknowledge the event for " + key + ": " + e, e);
        }
    }
}
