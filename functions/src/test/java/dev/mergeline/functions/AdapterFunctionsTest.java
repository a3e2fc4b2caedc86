package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.MergeRequested;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The validation functions over Funqy HTTP against a real S3 API (S3Mock) and a real Kafka broker:
 * accepted adapters become {@code merge.requested}, rejected ones {@code adapter.rejected} with
 * every reason, incomplete ones nothing. Validation reads headers only.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class AdapterFunctionsTest {
    static final String BASE = "tiny-llama";

    @BeforeAll
    static void uploadBase() throws Exception {
        uploadTinyLlama();
    }

    static void uploadTinyLlama() throws Exception {
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "base"), "base-models/" + BASE + "/");
        }
    }

    static List<String> uploadAdapter(String id) throws Exception {
        try (S3Client s3 = PipelineFixtures.s3()) {
            List<String> keys = PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "adapter"),
                    "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + BASE + "\"}");
            return keys;
        }
    }

    @Test
    void s3NotificationForACompleteAdapterRequestsAMerge() throws Exception {
        String id = "plain.v1";
        List<String> keys = uploadAdapter(id);
        try (KafkaConsumer<String, byte[]> requests = PipelineFixtures.consumer("merge-requests")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200)
                    .body("requested", contains("s3://mergeline/adapters/" + id + "/"))
                    .body("rejected", empty());
            // The key is the jobId; find it by adapter.
            List<CloudEvent<MergeRequested>> events = awaitByAdapter(requests, id);
            assertEquals(1, events.size());
            MergeRequested r = events.get(0).data();
            assertEquals(BASE, r.base().name());
            assertEquals("LORA", r.adapter().peftType());
            assertEquals(2, r.adapter().etags().size(), r.adapter().etags().toString());
            // The serving report, as `mergeline validate` gives it: a plain r=8 LoRA is servable by both.
            assertEquals(List.of("vllm", "lorax"), List.copyOf(r.serving().keySet()));
            assertTrue(r.serving().get("vllm").servableUnmerged(), r.serving().toString());
            long adapterBytes = Files.size(PipelineFixtures.fixture("llama-bf16-plain", "adapter/adapter_model.safetensors"));
            assertTrue(r.validationBytesRead() < adapterBytes, "validation read " + r.validationBytesRead()
                    + " bytes, the adapter weights alone are " + adapterBytes);
        }
    }

    @Test
    void incompleteAdapterRecordsNothing() throws Exception {
        String id = "half";
        try (S3Client s3 = PipelineFixtures.s3();
                KafkaConsumer<String, byte[]> requests = PipelineFixtures.consumer("merge-requests");
                KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            List<String> keys = PipelineFixtures.upload(s3, PipelineFixtures.fixture("llama-bf16-plain", "adapter"),
                    "adapters/" + id + "/");
            s3.deleteObject(b -> b.bucket("mergeline").key("adapters/" + id + "/adapter_model.safetensors"));
            String config = keys.stream().filter(k -> k.endsWith("/adapter_config.json")).findFirst().orElseThrow();
            given().contentType("application/json").body(PipelineFixtures.notification(List.of(config)))
                    .post("/s3Trigger")
                    .then().statusCode(200)
                    .body("incomplete", contains("s3://mergeline/adapters/" + id + "/"))
                    .body("requested", empty()).body("rejected", empty());
            // Publishing waits for the broker's ack, so anything published is in the topics by now.
            assertFalse(PipelineFixtures.requestedAdapterIds(requests).contains(id), "merge.requested for " + id);
            assertFalse(PipelineFixtures.readToEnd(failures).stream().anyMatch(r -> id.equals(r.key())),
                    "adapter.rejected for " + id);
        }
    }

    @Test
    void filesThatCannotStartAMergeAreIgnored() throws Exception {
        given().contentType("application/json")
                .body(PipelineFixtures.notification(List.of("adapters/x/README.md", "base-models/y/config.json",
                        "adapters/../base-models/y/config.json")))
                .post("/s3Trigger")
                .then().statusCode(200)
                .body("ignored", org.hamcrest.Matchers.hasSize(3))
                .body("requested", empty()).body("rejected", empty()).body("incomplete", empty());
    }

    @Test
    void invalidAdapterIsRejectedWithEveryReason() throws Exception {
        String id = "broken";
        List<String> keys = uploadAdapter(id);
        try (S3Client s3 = PipelineFixtures.s3();
                KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            String config = Files.readString(PipelineFixtures.fixture("llama-bf16-plain", "adapter/adapter_config.json"))
                    .replaceFirst("\"r\": 8", "\"r\": 0").replaceFirst("\"peft_type\": \"LORA\"", "\"peft_type\": \"LORA\", \"use_magic\": 1");
            PipelineFixtures.put(s3, "adapters/" + id + "/adapter_config.json", config);
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200).body("rejected", contains("s3://mergeline/adapters/" + id + "/"));
            List<CloudEvent<AdapterRejected>> events = PipelineFixtures.await(failures, id, AdapterRejected.class, 1,
                    Duration.ofSeconds(30));
            assertEquals(1, events.size());
            List<String> codes = events.get(0).data().reasons().stream().map(p -> p.code()).toList();
            assertTrue(codes.contains("ADAPTER_CONFIG_INVALID") && codes.contains("UNKNOWN_CONFIG_FIELD"), codes.toString());
        }
    }

    private static List<CloudEvent<MergeRequested>> awaitByAdapter(KafkaConsumer<String, byte[]> consumer, String id) {
        List<CloudEvent<MergeRequested>> found = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (found.isEmpty() && System.nanoTime() < deadline) {
            for (var r : consumer.poll(Duration.ofMillis(250))) {
                CloudEvent<MergeRequested> e = dev.mergeline.events.EventCodec.instance().decode(r.value(), MergeRequested.class);
                if (e.data().adapter().id().equals(id)) {
                    assertEquals(e.data().jobId(), r.key());
                    found.add(e);
                }
            }
        }
        return found;
    }
}
