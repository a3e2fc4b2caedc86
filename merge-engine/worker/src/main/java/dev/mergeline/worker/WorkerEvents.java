package dev.mergeline.worker;

import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergedModelReady;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

/**
 * Publishes the worker's CloudEvents, key = jobId. Ready and failed events wait for the broker's
 * acknowledgement, so the request's offset is committed only after its outcome is durable.
 */
@ApplicationScoped
public class WorkerEvents {
    static final String SOURCE = "/mergeline/worker";

    @Inject
    @Channel("merged-model-ready")
    Emitter<byte[]> ready;

    @Inject
    @Channel("merge-failures")
    Emitter<byte[]> failures;

    public void ready(MergedModelReady data) {
        sendAndWait(ready, data.jobId(), data);
    }

    public void failed(MergeFailed data) {
        sendAndWait(failures, data.jobId(), data);
    }

    private static void sendAndWait(Emitter<byte[]> emitter, String key, EventData data) {
        CompletableFuture<Void> acked = new CompletableFuture<>();
        emitter.send(message(key, data, acked));
        try {
            acked.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("Kafka did not acknowledge the event for job " + key + ": " + e, e);
        }
    }

    private static Message<byte[]> message(String key, EventData data, CompletableFuture<Void> acked) {
        byte[] value = EventCodec.instance().encode(CloudEvent.create(SOURCE, data));
        return Message.of(value, Metadata.of(OutgoingKafkaRecordMetadata.<String>builder()
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
    }
}
