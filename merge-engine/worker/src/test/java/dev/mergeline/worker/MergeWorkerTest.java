package dev.mergeline.worker;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventFixtures;
import dev.mergeline.events.MergeFailed;
import dev.mergeline.events.MergeRequested;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The worker as a consumer of the pinned {@code merge.requested} fixture (the same file the
 * events module's producer-side tests use): its inputs do not exist in this S3, so the job must end
 * in exactly one {@code merge.failed} naming what is missing, and the worker keeps serving.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class MergeWorkerTest {

    @Inject
    KafkaClientService kafka;

    @Test
    void requestForMissingInputsEndsInOneMergeFailedEvent() throws Exception {
        byte[] request = EventFixtures.load(EventFixtures.MERGE_REQUESTED);
        MergeRequested job = EventCodec.instance().decode(request, MergeRequested.class).data();
        try (KafkaConsumer<String, byte[]> failures = consumer("merge-failures");
                KafkaProducer<String, byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("merge-requests", job.jobId(), request)).get();
            List<CloudEvent<MergeFailed>> events = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (events.isEmpty() && System.nanoTime() < deadline) {
                for (var r : failures.poll(Duration.ofMillis(250))) {
                    assertEquals(job.jobId(), r.key());
                    events.add(EventCodec.instance().decode(r.value(), MergeFailed.class));
                }
            }
            assertEquals(1, events.size());
            MergeFailed failed = events.get(0).data();
            assertEquals(job.jobId(), failed.jobId());
            assertEquals(job.adapter().id(), failed.adapter().id());
            assertFalse(failed.retriable());
            assertEquals("ADAPTER_FILES_MISSING", failed.reasons().get(0).code());
        }
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200).body(containsString("mergeline_merges_total"));
    }

    @Test
    void theConsumerRebalancesCooperativelyAndIsADynamicMemberByDefault() throws Exception {
        Map<String, ?> config = kafka.getConsumer("merge-requests").configuration();
        assertEquals(CooperativeStickyAssignor.class.getName(), config.get("partition.assignment.strategy"));
        assertFalse(config.containsKey("group.instance.id"), config.toString());
        ConsumerGroupDescription group = WorkerGroup.awaitStable();
        assertEquals(CooperativeStickyAssignor.COOPERATIVE_STICKY_ASSIGNOR_NAME, group.partitionAssignor());
        group.members().forEach(m -> assertEquals(Optional.empty(), m.groupInstanceId(), m.toString()));
    }

    private static KafkaProducer<String, byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<String, byte[]> consumer(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }
}
