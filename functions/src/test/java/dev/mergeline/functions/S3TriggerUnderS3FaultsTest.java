package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.devstack.FaultProxy;
import dev.mergeline.devstack.FaultProxy.Fault;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.EventData;
import dev.mergeline.events.MergeRequested;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The S3 trigger with a {@link FaultProxy} between the function and S3Mock (real Kafka, real S3 API):
 * failing S3 requests are retried by the SDK and validation comes out as without faults; with S3
 * down the invocation fails (so that Lambda retries it) and nothing is published — in particular no
 * rejection, which would blame the adapter for the storage's fault. Rows of docs/reliability.md.
 */
@QuarkusTest
@WithTestResource(value = KafkaTestResource.class, initArgs = @ResourceArg(name = "topics",
        value = "merge-requests,merge-failures"))
@WithTestResource(S3BehindFaultProxyTestResource.class)
class S3TriggerUnderS3FaultsTest {
    private static final List<TopicPartition> OUTCOME_TOPICS = List.of(new TopicPartition("merge-requests", 0),
            new TopicPartition("merge-failures", 0));

    private static FaultProxy proxy;

    @BeforeAll
    static void startProxy() throws Exception {
        AdapterFunctionsTest.uploadTinyLlama();
        proxy = FaultProxy.start(S3BehindFaultProxyTestResource.proxyPort(),
                URI.create(S3MockTestResource.server().endpoint()));
    }

    @AfterAll
    static void stopProxy() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void failingShareOfS3RequestsIsRetriedAndOneMergeIsRequested() throws Exception {
        String id = "s3-flaky";
        List<String> keys = AdapterFunctionsTest.uploadAdapter(id);
        try (KafkaConsumer<String, byte[]> outcomes = outcomesConsumer()) {
            proxy.everyNth(3, Fault.HTTP_500, Fault.HTTP_503, Fault.RESET);
            try {
                trigger(keys).then().statusCode(200)
                        .body("requested", contains("s3://mergeline/adapters/" + id + "/"))
                        .body("rejected", empty());
            } finally {
                proxy.heal();
            }
            for (Fault f : List.of(Fault.HTTP_500, Fault.HTTP_503, Fault.RESET)) {
                assertTrue(proxy.faults(f) > 0, f + " was never injected: " + proxy);
            }
            List<EventData> events = eventsFor(outcomes, id);
            assertEquals(1, events.size(), events::toString);
            assertTrue(events.get(0) instanceof MergeRequested, events::toString);
        }
    }

    @Test
    void s3DownFailsTheInvocationAndPublishesNothingUntilARetrySucceeds() throws Exception {
        String id = "s3-down";
        List<String> keys = AdapterFunctionsTest.uploadAdapter(id);
        try (KafkaConsumer<String, byte[]> outcomes = outcomesConsumer()) {
            long faultsBefore = proxy.faults();
            proxy.down();
            try {
                int status = trigger(keys).then().extract().statusCode();
                assertTrue(status >= 500, "the invocation must fail so that Lambda retries it, got HTTP " + status);
            } finally {
                proxy.heal();
            }
            assertTrue(proxy.faults() - faultsBefore >= 4, "the SDK retried: " + proxy);
            assertEquals(List.of(), eventsFor(outcomes, id), "no merge.requested, no adapter.rejected");

            // Lambda's retry of the same invocation, once S3 answers again.
            trigger(keys).then().statusCode(200).body("requested", contains("s3://mergeline/adapters/" + id + "/"));
            List<EventData> events = eventsFor(outcomes, id);
            assertEquals(1, events.size(), events::toString);
            assertTrue(events.get(0) instanceof MergeRequested, events::toString);
        }
    }

    private static Response trigger(List<String> keys) {
        return given().contentType("application/json").body(PipelineFixtures.notification(keys)).post("/s3Trigger");
    }

    /** Reads merge-requests and merge-failures from the beginning, without a consumer group. */
    private static KafkaConsumer<String, byte[]> outcomesConsumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KafkaTestResource.broker().bootstrapServers());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        c.assign(OUTCOME_TOPICS);
        c.seekToBeginning(OUTCOME_TOPICS);
        return c;
    }

    /**
     * Every event about adapter {@code id} published so far: the function publishes before it
     * answers, so reading to the end offsets misses nothing.
     */
    private static List<EventData> eventsFor(KafkaConsumer<String, byte[]> consumer, String id) {
        List<EventData> found = new ArrayList<>();
        Map<TopicPartition, Long> end = consumer.endOffsets(OUTCOME_TOPICS);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (OUTCOME_TOPICS.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            assertTrue(System.nanoTime() < deadline, "outcome topics not read to their end " + end);
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                EventData data = EventCodec.instance().decodeAny(r.value()).data();
                if (data instanceof MergeRequested m && m.adapter().id().equals(id)
                        || data instanceof AdapterRejected a && a.adapter().id().equals(id)) {
                    found.add(data);
                }
            }
        }
        return found;
    }
}
