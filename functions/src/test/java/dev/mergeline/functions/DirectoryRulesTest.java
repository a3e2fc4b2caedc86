package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.Problem;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The committed directory-rule case {@code base-tensor-in-two-shards} (a sharded base whose last
 * shard also stores the first shard's {@code model.embed_tokens.weight}, with other values) sent
 * through the functions against S3Mock and Kafka: rejected with the reasons {@code mergeline
 * validate} gives for the same directories, and no {@code merge.requested}.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class DirectoryRulesTest {
    private static final String CASE = "base-tensor-in-two-shards";
    private static final String BASE = "tiny-llama-tensor-in-two-shards";

    @Test
    void aBaseStoringATensorInTwoShardsIsRejectedLikeMergelineValidate() throws Exception {
        Path caseDir = PeftFixtures.casesDir().resolveSibling("directory-rules").resolve(CASE);
        JsonNode expected = new ObjectMapper().readTree(caseDir.resolve("expected.json").toFile());
        Path base = caseDir.resolve("base");
        Path adapter = PipelineFixtures.fixture(expected.path("adapter").asText(), "adapter");
        RejectedException local = assertThrows(RejectedException.class, () -> new OfflineMerger(
                new ReferenceMergeKernel()).validate(base, adapter, MergeOptions.defaults()));
        List<String> validate = new ArrayList<>();
        for (Reason r : local.reasons()) {
            validate.add(r.code() + "/" + r.detail() + "/" + r.tensor());
        }
        assertEquals(List.of(expected.path("code").asText() + "/" + expected.path("detail").asText() + "/"
                + expected.path("tensor").asText()), validate, "mergeline validate");

        String id = "tensor-in-two-shards";
        List<String> keys;
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.upload(s3, base, "base-models/" + BASE + "/");
            keys = PipelineFixtures.upload(s3, adapter, "adapters/" + id + "/");
            PipelineFixtures.put(s3, "adapters/" + id + "/merge.json", "{\"base\":\"" + BASE + "\"}");
        }
        try (KafkaConsumer<String, byte[]> requests = PipelineFixtures.consumer("merge-requests");
                KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200)
                    .body("rejected", contains("s3://mergeline/adapters/" + id + "/"))
                    .body("requested", empty());
            List<CloudEvent<AdapterRejected>> events = PipelineFixtures.await(failures, id, AdapterRejected.class, 1,
                    Duration.ofSeconds(30));
            assertEquals(1, events.size());
            List<String> functions = new ArrayList<>();
            for (Problem p : events.get(0).data().reasons()) {
                functions.add(p.code() + "/" + p.detail() + "/" + p.tensor());
            }
            assertEquals(validate, functions, "the functions' rejection vs mergeline validate");
            assertFalse(PipelineFixtures.requestedAdapterIds(requests).contains(id), "merge.requested for " + id);
        }
    }
}
