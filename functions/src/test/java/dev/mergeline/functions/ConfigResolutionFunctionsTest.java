package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.testing.ConfigCorpus;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.Problem;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The pipeline's validation resolves adapter configs as PEFT 0.21 does, with the same rules as the
 * CLI: against S3Mock and Kafka, a config without target_modules is valid for the weights PEFT's
 * per-architecture default covers, and refused for weights PEFT would drop.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class ConfigResolutionFunctionsTest {
    static final String BASE = "corpus-tiny-llama";

    @BeforeAll
    static void uploadBase() throws Exception {
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, ConfigCorpus.of("minimal-qv").base(), "base-models/" + BASE + "/");
        }
    }

    private static List<String> uploadAdapter(String caseName, String id) throws Exception {
        try (S3Client s3 = PipelineFixtures.s3()) {
            List<String> keys = PipelineFixtures.upload(s3, ConfigCorpus.of(caseName).adapter(), "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + BASE + "\"}");
            return keys;
        }
    }

    /** The 4-module case: weights for q/k/v/o, no target_modules; PEFT would drop k/o. */
    @Test
    void weightsOutsideTheDefaultTargetsAreRefused() throws Exception {
        String id = "minimal-qkvo";
        ConfigCorpus c = ConfigCorpus.of(id);
        List<String> keys = uploadAdapter(id, id);
        try (KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200)
                    .body("rejected", contains("s3://mergeline/adapters/" + id + "/"))
                    .body("requested", empty());
            List<CloudEvent<AdapterRejected>> events = PipelineFixtures.await(failures, id, AdapterRejected.class, 1,
                    Duration.ofSeconds(30));
            assertEquals(1, events.size());
            TreeSet<String> modules = new TreeSet<>();
            for (Problem p : events.get(0).data().reasons()) {
                assertEquals("ADAPTER_CONFIG_INVALID", p.code(), p::toString);
                assertTrue(p.message().contains("PEFT would ignore these weights; set target_modules to include them"),
                        p.message());
                assertTrue(p.message().contains("TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']"),
                        p.message());
                modules.add(p.tensor());
            }
            assertEquals(c.modulesPeftIgnored(), modules);
            assertEquals(4, modules.size(), "k_proj and o_proj of both layers");
        }
    }

    /** The same config with weights for q/v only is what PEFT merges: accepted. */
    @Test
    void weightsInsideTheDefaultTargetsAreAccepted() throws Exception {
        String id = "minimal-qv";
        List<String> keys = uploadAdapter(id, id);
        given().contentType("application/json").body(PipelineFixtures.notification(keys))
                .post("/s3Trigger")
                .then().statusCode(200)
                .body("requested", contains("s3://mergeline/adapters/" + id + "/"))
                .body("rejected", empty());
    }
}
