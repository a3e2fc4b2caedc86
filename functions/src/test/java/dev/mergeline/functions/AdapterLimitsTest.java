package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.CloudEvent;
import dev.mergeline.events.Problem;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.safetensors.SafetensorsHeader;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code mergeline.limits.*} on the S3 trigger, with limits small enough to break: an adapter over
 * a limit is rejected with {@code INPUT_TOO_LARGE}, and its size is checked against the S3 listing
 * before any byte of its weights is read.
 */
@QuarkusTest
@TestProfile(AdapterLimitsTest.SmallLimits.class)
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class AdapterLimitsTest {
    static final long MAX_ADAPTER_BYTES = 64 * 1024;
    static final int MAX_TENSORS = 32;

    /** Limits the fixture adapter (36 KB, 28 tensors) passes and the adapters built here do not. */
    public static class SmallLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mergeline.limits.max-adapter-bytes", Long.toString(MAX_ADAPTER_BYTES),
                    "mergeline.limits.max-tensor-count", Integer.toString(MAX_TENSORS));
        }
    }

    @Inject
    S3Objects s3Objects;

    @BeforeAll
    static void uploadBase() throws Exception {
        AdapterFunctionsTest.uploadTinyLlama();
    }

    @Test
    void adapterOverTheSizeLimitIsRejectedWithoutReadingItsWeights() throws Exception {
        String id = "too-many-bytes";
        // Read, this file would fail on its header (a 4 GiB header length); it must not be read at all.
        ByteBuffer weights = ByteBuffer.allocate((int) MAX_ADAPTER_BYTES + 1).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(0, 1L << 32);
        List<String> keys = uploadAdapter(id, weights.array());
        long before = s3Objects.bytesRead();

        Problem p = rejectedFor(id, keys);

        assertEquals("INPUT_TOO_LARGE", p.code());
        assertEquals("ADAPTER_BYTES", p.detail());
        assertEquals("adapter_model.safetensors", p.tensor()); // the file as InputRules names it, on every source
        assertEquals("<= " + MAX_ADAPTER_BYTES + " bytes", p.expected());
        assertEquals((MAX_ADAPTER_BYTES + 1) + " bytes", p.actual());
        // Validation read adapter_config.json, merge.json, the base's config.json and its header:
        // not one byte of adapter_model.safetensors, not even its 8-byte length prefix.
        Path adapter = PipelineFixtures.fixture("llama-bf16-plain", "adapter");
        Path base = PipelineFixtures.fixture("llama-bf16-plain", "base");
        long expected = Files.size(adapter.resolve("adapter_config.json")) + mergeJson().length()
                + Files.size(base.resolve("config.json"))
                + SafetensorsHeader.read(base.resolve("model.safetensors")).dataStart();
        assertEquals(expected, s3Objects.bytesRead() - before, "bytes validation read");
    }

    @Test
    void adapterListingMoreTensorsThanTheLimitIsRejected() throws Exception {
        String id = "too-many-tensors";
        List<String> keys = uploadAdapter(id, tinyTensors(MAX_TENSORS + 1));

        Problem p = rejectedFor(id, keys);

        assertEquals("INPUT_TOO_LARGE", p.code());
        assertEquals("TENSOR_COUNT", p.detail());
        assertEquals("adapter_model.safetensors", p.tensor()); // the file as InputRules names it, on every source
        assertEquals("<= " + MAX_TENSORS + " tensors", p.expected());
    }

    @Test
    void adapterWithinTheLimitsIsAccepted() throws Exception {
        List<String> keys = AdapterFunctionsTest.uploadAdapter("within-limits");
        given().contentType("application/json").body(PipelineFixtures.notification(keys))
                .post("/s3Trigger")
                .then().statusCode(200)
                .body("requested", contains("s3://mergeline/adapters/within-limits/"))
                .body("rejected", empty());
    }

    /** Triggers validation and returns the one reason of the adapter's one rejection. */
    private static Problem rejectedFor(String id, List<String> keys) {
        try (KafkaConsumer<String, byte[]> failures = PipelineFixtures.consumer("merge-failures")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200)
                    .body("rejected", contains("s3://mergeline/adapters/" + id + "/"));
            List<CloudEvent<AdapterRejected>> events = PipelineFixtures.await(failures, id, AdapterRejected.class, 1,
                    Duration.ofSeconds(30));
            assertEquals(1, events.size());
            List<Problem> reasons = events.get(0).data().reasons();
            assertEquals(1, reasons.size(), reasons::toString);
            return reasons.get(0);
        }
    }

    /** The fixture adapter's config and a merge.json, with these bytes as its weights. */
    private static List<String> uploadAdapter(String id, byte[] weights) throws Exception {
        String prefix = "adapters/" + id + "/";
        try (S3Client s3 = PipelineFixtures.s3()) {
            PipelineFixtures.put(s3, prefix + "adapter_config.json", Files.readString(
                    PipelineFixtures.fixture("llama-bf16-plain", "adapter/adapter_config.json")));
            PipelineFixtures.put(s3, prefix + "merge.json", mergeJson());
            s3.putObject(b -> b.bucket("mergeline").key(prefix + "adapter_model.safetensors"),
                    RequestBody.fromBytes(weights));
        }
        return List.of(prefix + "adapter_config.json", prefix + "adapter_model.safetensors");
    }

    private static String mergeJson() {
        return "{\"base\":\"" + AdapterFunctionsTest.BASE + "\"}";
    }

    /** A valid safetensors file of {@code n} one-byte tensors. */
    private static byte[] tinyTensors(int n) {
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < n; i++) {
            json.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"U8\",\"shape\":[1],")
                    .append("\"data_offsets\":[").append(i).append(',').append(i + 1).append("]}");
        }
        byte[] header = json.append('}').toString().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + header.length + n).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).array();
    }
}
