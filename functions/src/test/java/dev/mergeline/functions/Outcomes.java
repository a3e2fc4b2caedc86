package dev.mergeline.functions;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergedModelReady;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Every outcome event the worker published ({@code merged-model-ready}, {@code merge.failed} on
 * {@code merge-failures}), read by a plain KafkaConsumer and kept, so that tests can count them per
 * adapter: "exactly one" is checked after {@link #awaitRequestsCommitted} says the worker is done.
 */
final class Outcomes implements AutoCloseable {
    static final String WORKER_GROUP = "mergeline-worker";
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<CloudEvent<MergedModelReady>> ready = new ArrayList<>();
    private final List<CloudEvent<MergeFailed>> failed = new ArrayList<>();

    Outcomes() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-outcomes-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of("merged-model-ready", "merge-failures"));
    }

    /** Reads whatever arrived within {@code duration}. */
    void poll(Duration duration) {
        long deadline = System.nanoTime() + duration.toNanos();
        do {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                CloudEvent<? extends EventData> event = EventCodec.instance().decodeAny(r.value());
                if (event.data() instanceof MergedModelReady) {
                    ready.add(EventCodec.instance().decode(r.value(), MergedModelReady.class));
                } else if (event.data() instanceof MergeFailed) {
                    failed.add(EventCodec.instance().decode(r.value(), MergeFailed.class));
                }
            }
        } while (System.nanoTime() < deadline);
    }

    List<MergedModelReady> ready(String adapterId) {
        return ready.stream().map(CloudEvent::data).filter(d -> d.adapter().id().equals(adapterId)).toList();
    }

    List<MergeFailed> failed(String adapterId) {
        return failed.stream().map(CloudEvent::data).filter(d -> d.adapter().id().equals(adapterId)).toList();
    }

    /** Polls until a ready event for {@code adapterId} matching {@code which} is there; returns it. */
    MergedModelReady awaitReady(String adapterId, Predicate<MergedModelReady> which, Duration timeout,
            WorkerProcess... logs) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var found = ready(adapterId).stream().filter(which).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
            poll(Duration.ofMillis(200));
        }
        throw new AssertionError("no ready event for " + adapterId + " within " + timeout + "; failures: "
                + failed(adapterId) + "\n" + tails(logs));
    }

    MergeFailed awaitFailed(String adapterId, Duration timeout, WorkerProcess... logs) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!failed(adapterId).isEmpty()) {
                return failed(adapterId).get(0);
            }
            poll(Duration.ofMillis(200));
        }
        throw new AssertionError("no merge.failed for " + adapterId + " within " + timeout + "; ready: "
                + ready(adapterId) + "\n" + tails(logs));
    }

    /**
     * Waits until the worker group has committed every record of {@code merge-requests} (so every
     * request has been answered or dropped), then reads the events that are still on their way.
     */
    void awaitRequestsCommitted(Duration timeout, WorkerProcess... logs) throws Exception {
        TopicPartition tp = new TopicPartition("merge-requests", 0);
        long deadline = System.nanoTime() + timeout.toNanos();
        long end = -1;
        long committed = -1;
        try (Admin admin = KafkaTestResource.broker().admin(Duration.ofSeconds(10))) {
            while (System.nanoTime() < deadline) {
                end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
                OffsetAndMetadata c = admin.listConsumerGroupOffsets(WORKER_GROUP).partitionsToOffsetAndMetadata()
                        .get().get(tp);
                committed = c == null ? -1 : c.offset();
                if (committed == end) {
                    poll(Duration.ofSeconds(1));
                    return;
                }
                poll(Duration.ofMillis(500));
            }
        }
        throw new AssertionError("merge-requests: committed offset " + committed + " never reached the end " + end
                + " within " + timeout + "\n" + tails(logs));
    }

    private static String tails(WorkerProcess... workers) {
        StringBuilder s = new StringBuilder();
        for (WorkerProcess w : workers) {
            s.append(w.tail()).append('\n');
        }
        return s.toString();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
