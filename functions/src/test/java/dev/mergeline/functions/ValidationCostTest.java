package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import dev.mergeline.events.EventCodec;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
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
import java.util.List;
import java.util.Map;
import java.util.function.Function;
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
    private static final String MERGE_JSON = "{\"base\":\"" + BASE + "\"}";

    @Test
    void validationReadsConfigsAndHeadersOnlyWhateverTheAdapterSize(@TempDir Path dir) throws Exception {
        Map<String, Long> sizes = Map.of("cost-10mb", 10_000_000L, "cost-1gb", 1_000_000_000L);
        Map<String, Long> expected = new HashMap<>();
        Map<String, Long> weightBytes = new HashMap<>();
        List<String> keys = new ArrayList<>();
        try (S3Client s3 = PipelineFixtures.s3()) {
            Path base = Files.createDirectories(dir.resolve("base"));
            grownBase(base);
            PipelineFixtures.upload(s3, base, "base-models/" + BASE + "/");
            long baseBytes = Files.size(base.resolve("config.json"))
                    + SafetensorsHeader.read(base.resolve("model.safetensors")).dataStart();
            for (Map.Entry<String, Long> size : sizes.entrySet()) {
                Path adapter = Files.createDirectories(dir.resolve(size.getKey()));
                widenedAdapter(adapter, size.getValue());
                Path weights = adapter.resolve("adapter_model.safetensors");
                String prefix = "adapters/" + size.getKey() + "/";
                keys.addAll(PipelineFixtures.upload(s3, adapter, prefix));
                PipelineFixtures.put(s3, prefix + "merge.json", MERGE_JSON);
                // What validation may read: the two configs, merge.json and the two safetensors headers.
                expected.put(size.getKey(), baseBytes + MERGE_JSON.length()
                        + Files.size(adapter.resolve("adapter_config.json")) + SafetensorsHeader.read(weights).dataStart());
                weightBytes.put(size.getKey(), Files.size(weights));
                Files.delete(weights);
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
        System.out.printf("validation read %d bytes for a %d-byte adapter and %d bytes for a %d-byte adapter%n",
                read.get("cost-10mb"), weightBytes.get("cost-10mb"), read.get("cost-1gb"), weightBytes.get("cost-1gb"));
        assertTrue(weightBytes.get("cost-1gb") >= 1_000_000_000L && weightBytes.get("cost-10mb") >= 10_000_000L,
                weightBytes.toString());
        // Exactly configs and headers, for both: the few hundred bytes between them are the longer
        // digits of r, shapes and offsets in the larger adapter's own config and header.
        assertEquals(expected, read, "bytes validation read per adapter");
    }

    /** The fixture base with its layer 0 repeated {@value #LAYERS} times (zeros), and its config to match. */
    private static void grownBase(Path dir) throws IOException {
        List<TensorInfo> fixture = SafetensorsHeader.read(FIXTURE.resolve("base/model.safetensors")).tensors();
        List<Tensor> grown = new ArrayList<>();
        for (TensorInfo t : fixture) {
            if (!t.name().contains(".layers.")) {
                grown.add(new Tensor(t.name(), t.dtype(), t.shape()));
            }
        }
        grown.addAll(perLayer(fixture, TensorInfo::shape));
        writeZeros(dir.resolve("model.safetensors"), grown);
        ObjectNode config = (ObjectNode) JSON.readTree(FIXTURE.resolve("base/config.json").toFile());
        JSON.writeValue(dir.resolve("config.json").toFile(), config.put("num_hidden_layers", LAYERS));
    }

    /**
     * The fixture adapter for {@value #LAYERS} layers, with {@code r} raised so that its weights take at
     * least {@code targetBytes} (zeros).
     */
    private static void widenedAdapter(Path dir, long targetBytes) throws IOException {
        List<TensorInfo> fixture = SafetensorsHeader.read(FIXTURE.resolve("adapter/adapter_model.safetensors")).tensors();
        ObjectNode config = (ObjectNode) JSON.readTree(FIXTURE.resolve("adapter/adapter_config.json").toFile());
        int rank = config.get("r").asInt();
        long bytesPerRankAndLayer = 0; // every factor has one dimension of size r: A is [r, in], B is [out, r]
        for (TensorInfo t : fixture) {
            if (t.name().contains(".layers.0.")) {
                assertEquals(DType.F32, t.dtype(), t.name());
                bytesPerRankAndLayer += t.byteLength() / rank;
            }
        }
        long wide = (targetBytes + bytesPerRankAndLayer * LAYERS - 1) / (bytesPerRankAndLayer * LAYERS);
        assertTrue(wide <= MAX_RANK, "r = " + wide + " would be refused");
        writeZeros(dir.resolve("adapter_model.safetensors"), perLayer(fixture, t -> {
            List<Long> widened = new ArrayList<>(t.shape());
            widened.set(t.name().contains("lora_A") ? 0 : 1, wide);
            return widened;
        }));
        config.put("r", wide).put("lora_alpha", 2 * wide);
        JSON.writeValue(dir.resolve("adapter_config.json").toFile(), config);
    }

    /** A tensor to write: name, dtype, shape. */
    private record Tensor(String name, DType dtype, List<Long> shape) {}

    /** The layer-0 tensors of {@code fixture}, repeated for layers 0 to {@value #LAYERS} − 1, shapes mapped. */
    private static List<Tensor> perLayer(List<TensorInfo> fixture, Function<TensorInfo, List<Long>> shape) {
        List<Tensor> out = new ArrayList<>();
        for (int layer = 0; layer < LAYERS; layer++) {
            for (TensorInfo t : fixture) {
                if (t.name().contains(".layers.0.")) {
                    out.add(new Tensor(t.name().replace(".layers.0.", ".layers." + layer + "."), t.dtype(),
                            shape.apply(t)));
                }
            }
        }
        return out;
    }

    /** Writes a safetensors file of {@code tensors}, contiguous in order, every byte of data zero (sparse). */
    private static void writeZeros(Path file, List<Tensor> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Tensor t : tensors) {
            long bytes = t.dtype().byteSize();
            for (long d : t.shape()) {
                bytes = Math.multiplyExact(bytes, d);
            }
            ObjectNode info = header.putObject(t.name()).put("dtype", t.dtype().safetensorsName());
            t.shape().forEach(info.putArray("shape")::add);
            info.putArray("data_offsets").add(offset).add(offset + bytes);
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
    }
}
