package dev.mergeline.quarkus;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Sends CloudEvents (structured JSON, {@code content-type} header) to a Kafka channel with a record
 * key, and learns whether the broker acknowledged them.
 */
public final class KafkaEvents {

    private KafkaEvents() {}

    /** The broker did not acknowledge an event in time, or refused it. */
    public static final class NotAcknowledgedException extends Exception {
        NotAcknowledgedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Sends {@code event}; the future completes when the broker acknowledges it, exceptionally when it does not. */
    public static CompletableFuture<Void> send(Emitter<byte[]> emitter, String key,
            CloudEvent<? extends EventData> event) {
        CompletableFuture<Void> acked = new CompletableFuture<>();
        Message<byte[]> message = Message.of(EventCodec.instance().encode(event),
                        Metadata.of(OutgoingKafkaRecordMetadata.<String>builder()
                                .withKey(key)
                                .withHeaders(new RecordHeaders().add("content-type",
                                        EventCodec.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8)))
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
        return acked;
    }

    /**
     * Sends {@code event} and waits up to {@code timeout} for the broker's acknowledgement.
     *
     * @throws NotAcknowledgedException when the broker refused it or did not answer in time
     * @throws InterruptedException when interrupted while waiting
     */
    public static void sendAndWait(Emitter<byte[]> emitter, String key, CloudEvent<? extends EventData> event,
            Duration timeout) throws NotAcknowledgedException, InterruptedException {
        try {
            send(emitter, key, event).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new NotAcknowledgedException("Kafka refused the event for " + key + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new NotAcknowledgedException("Kafka did not acknowledge the event for " + key + " within "
                    + timeout, e);
        } catch (RuntimeException e) {
            throw new NotAcknowledgedException("the event for " + key + " could not be sent: " + e, e);
        }
    }
}
