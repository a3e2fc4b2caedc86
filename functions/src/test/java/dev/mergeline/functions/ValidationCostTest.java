package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.MergeRequested;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Validation costs the same for a 10 MB and a 1 GB adapter: it reads configs and safetensors headers,
 * never weights. The base is the tiny Llama fixture grown to {@value #LAYERS} layers; both adapters
 * are the fixture's, widened to those layers, with the rank raised until the weights file has the
 * size wanted. Every weight is zeros (sparse files): validation must not look at them.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class ValidationCostTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FIXTURE = PipelineFixtures.fixture("llama-bf16-plain", "");
    private static final String BASE = "tiny-llama-8-layers";
    /** 8 layers of the tiny Llama: 4096 input + output features over the 56 targeted modules. */
    private static final int LAYERS = 8;
    /** The most {@code r} validation accepts. */
    private static final int MAX_RANK = 65536;

    @Test
    void validationReadsHeaderSizedBytesWhateverTheAdapterSize(@TempDir Path dir) throws Exception {
        Map<String, Long> sizes = Map.of("cost-10mb", 10_000_000L, "cost-1gb", 1_000_000_000L);
        Map<String, Widened> adapters = new HashMap<>();
        List<String> keys = new ArrayList<>();
        try (S3Client s3 = PipelineFixtures.s3()) {
            Path base = Files.createDirectories(dir.resolve("base"));
            grownBase(base);
            PipelineFixtures.upload(s3, base, "base-models/" + BASE + "/");
            for (Map.Entry<String, Long> size : sizes.entrySet()) {
                Path adapter = Files.createDirectories(dir.resolve(size.getKey()));
                adapters.put(size.getKey(), widenedAdapter(adapter, size.getValue()));
                String prefix = "adapters/" + size.getKey() + "/";
                keys.addAll(PipelineFixtures.upload(s3, adapter, prefix));
                PipelineFixtures.put(s3, prefix + "merge.json", "{\"base\":\"" + BASE + "\"}");
                Files.delete(adapter.resolve("adapter_model.safetensors"));
            }
        }
        Map<String, Long> read = new HashMap<>();
        try (KafkaConsumer<String, byte[]> requests = PipelineFixtures.consumer("merge-requests")) {
            given().contentType("application/json").body(PipelineFixtures.notification(keys))
                    .post("/s3Trigger")
                    .then().statusCode(200).body("requested", hasSize(2));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (read.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : requests.poll(Duration.ofMillis(250))) {
                    MergeRequested e = EventCodec.instance().decode(r.value(), MergeRequested.class).data();
                    if (sizes.containsKey(e.adapter().id())) {
                        read.put(e.adapter().id(), e.validationBytesRead());
                    }
                }
            }
        }
        assertEquals(sizes.keySet(), read.keySet(), "both adapters were accepted");
        Widened small = adapters.get("cost-10mb");
        Widened large = adapters.get("cost-1gb");
        System.out.printf("validation read %d bytes for a %d-byte adapter and %d bytes for a %d-byte adapter%n",
                read.get("cost-10mb"), small.weightBytes(), read.get("cost-1gb"), large.weightBytes());
        assertTrue(large.weightBytes() >= 1_000_000_000L && small.weightBytes() >= 10_000_000L, adapters.toString());
        assertTrue(read.get("cost-10mb") < 64 * 1024 && read.get("cost-1gb") < 64 * 1024, read.toString());
        // Apart from the adapter's own header and config (whose digits grow with r), both validations read
        // exactly the same bytes: base config and header, merge.json.
        assertEquals(read.get("cost-10mb") - small.headerAndConfigBytes(), read.get("cost-1gb") - large.headerAndConfigBytes(),
                "validation read more than headers and configs: " + read + " " + adapters);
    }

    /** A generated adapter: the size of its weights file, and of its header plus {@code adapter_config.json}. */
    private record Widened(long weightBytes, long headerAndConfigBytes) {}

    /** The fixture base with its layer 0 repeated {@value #LAYERS} times (zeros), and its config to match. */
    private static void grownBase(Path dir) throws IOException {
        Map<String, ObjectNode> fixture = tensors(FIXTURE.resolve("base/model.safetensors"));
        Map<String, ObjectNode> grown = new LinkedHashMap<>();
        fixture.forEach((name, info) -> {
            if (!name.contains(".layers.")) {
                grown.put(name, info);
            }
        });
        for (int layer = 0; layer < LAYERS; layer++) {
            for (Map.Entry<String, ObjectNode> t : fixture.entrySet()) {
                if (t.getKey().contains(".layers.0.")) {
                    grown.put(t.getKey().replace(".layers.0.", ".layers." + layer + "."), t.getValue().deepCopy());
                }
            }
        }
        writeZeros(dir.resolve("model.safetensors"), grown);
        ObjectNode config = (ObjectNode) JSON.readTree(FIXTURE.resolve("base/config.json").toFile());
        JSON.writeValue(dir.resolve("config.json").toFile(), config.put("num_hidden_layers", LAYERS));
    }

    /**
     * The fixture adapter for {@value #LAYERS} layers, with {@code r} raised so that its weights take at
     * least {@code targetBytes} (zeros).
     */
    private static Widened widenedAdapter(Path dir, long targetBytes) throws IOException {
        Map<String, ObjectNode> fixture = tensors(FIXTURE.resolve("adapter/adapter_model.safetensors"));
        ObjectNode config = (ObjectNode) JSON.readTree(FIXTURE.resolve("adapter/adapter_config.json").toFile());
        int rank = config.get("r").asInt();
        long bytesPerRank = 0; // every factor has one dimension of size r: A is [r, in], B is [out, r]
        for (ObjectNode info : fixture.values()) {
            bytesPerRank += elements(info) * 4 / rank;
        }
        bytesPerRank = bytesPerRank / 2 * LAYERS; // the fixture has 2 layers
        long wide = (targetBytes + bytesPerRank - 1) / bytesPerRank;
        assertTrue(wide <= MAX_RANK, "r = " + wide + " would be refused");
        Map<String, ObjectNode> widened = new LinkedHashMap<>();
        for (int layer = 0; layer < LAYERS; layer++) {
            for (Map.Entry<String, ObjectNode> t : fixture.entrySet()) {
                if (t.getKey().contains(".layers.0.")) {
                    ObjectNode info = t.getValue().deepCopy();
                    assertEquals("F32", info.get("dtype").asText(), t.getKey());
                    ((ArrayNode) info.get("shape")).set(t.getKey().contains("lora_A") ? 0 : 1, wide);
                    widened.put(t.getKey().replace(".layers.0.", ".layers." + layer + "."), info);
                }
            }
        }
        Path weights = dir.resolve("adapter_model.safetensors");
        long headerBytes = writeZeros(weights, widened);
        config.put("r", wide).put("lora_alpha", 2 * wide);
        JSON.writeValue(dir.resolve("adapter_config.json").toFile(), config);
        return new Widened(Files.size(weights), headerBytes + Files.size(dir.resolve("adapter_config.json")));
    }

    /** The tensors of a safetensors header, in file order, without {@code __metadata__}. */
    private static Map<String, ObjectNode> tensors(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
        Map<String, ObjectNode> tensors = new LinkedHashMap<>();
        header.fields().forEachRemaining(t -> {
            if (!t.getKey().equals("__metadata__")) {
                tensors.put(t.getKey(), (ObjectNode) t.getValue());
            }
        });
        return tensors;
    }

    private static long elements(ObjectNode info) {
        long n = 1;
        for (JsonNode d : info.get("shape")) {
            n = Math.multiplyExact(n, d.asLong());
        }
        return n;
    }

    /**
     * Writes a safetensors file of {@code tensors}, contiguous in order, every byte of data zero
     * (sparse); returns the bytes before the data (length prefix and header).
     */
    private static long writeZeros(Path file, Map<String, ObjectNode> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, ObjectNode> t : tensors.entrySet()) {
            long bytes = elements(t.getValue()) * (t.getValue().get("dtype").asText().equals("F32") ? 4 : 2);
            ObjectNode info = t.getValue().deepCopy();
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            header.set(t.getKey(), info);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) & ~7;
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(json);
            out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            out.setLength(8L + padded + offset);
        }
        return 8L + padded;
    }
}
