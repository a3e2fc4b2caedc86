package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.MessageMalformed;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Kafka-triggered function ({@code QUARKUS_FUNQY_EXPORT=kafkaTrigger}) with Lambda's aws:kafka event. */
@QuarkusTest
@TestProfile(KafkaTriggerTest.KafkaExport.class)
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class KafkaTriggerTest {

    /** Exports the Kafka trigger, as the Kafka-ingress Lambda does. */
    public static class KafkaExport implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.funqy.export", "kafkaTrigger");
        }
    }

    @BeforeAll
    static void uploadBase() throws Exception {
        AdapterFunctionsTest.uploadTinyLlama();
    }

    @Test
    void kafkaTriggerHandlesAnnouncementsAndReportsMalformedRecords() throws Exception {
        String id = "announced";
        AdapterFunctionsTest.uploadAdapter(id);
        String announcement = "{\"adapter\":\"s3://mergeline/adapters/" + id + "/\",\"base\":\""
                + AdapterFunctionsTest.BASE + "\"}";
        String event = """
                {"eventSource":"aws:kafka","bootstrapServers":"b-1:9092",
                 "records":{"adapter-uploads-0":[
                   {"topic":"adapter-uploads","partition":0,"offset":1,"timestamp":1,"value":"%s"},
                   {"topic":"adapter-uploads","partition":0,"offset":2,"timestamp":2,"value":"%s"}]}}
                """.formatted(Base64.getEncoder().encodeToString(announcement.getBytes()),
                Base64.getEncoder().encodeToString("not json".getBytes()));
        try (KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            given().contentType("application/json").body(event)
                    .post("/kafkaTrigger")
                    .then().statusCode(200)
                    .body("requested", contains("s3://mergeline/adapters/" + id + "/"))
                    .body("malformed", equalTo(1));
            List<CloudEvent<MessageMalformed>> reported = PipelineFixtures.await(failures, MessageMalformed.SUBJECT,
                    MessageMalformed.class, 1, Duration.ofSeconds(30));
            assertEquals(1, reported.size());
            assertEquals("not json", reported.get(0).data().excerpt());
            assertEquals("MALFORMED_MESSAGE", reported.get(0).data().reasons().get(0).code());
        }
    }

}
