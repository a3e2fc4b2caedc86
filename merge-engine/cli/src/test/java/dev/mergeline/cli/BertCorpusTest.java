package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.onnx.OnnxMergeKernel;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.CheckpointWriter;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.ShardLayout;
import dev.mergeline.safetensors.TensorInfo;
import dev.mergeline.safetensors.TensorSink;
import dev.mergeline.safetensors.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real public adapter of {@code merge-engine/fixtures/corpus/bert-seqcls-lora} (bert-base-uncased, SEQ_CLS,
 * r=8, α=32, query/value, modules_to_save classifier) merged onto a full-size base with
 * bert-base-uncased's names and shapes (values from the documented PRNG). PEFT's result for the same
 * base is pinned by {@code fixtures/cases/bert-base-corpus/expected}: sha256 of every tensor plus
 * 66 sampled values each, and the classifier in full. The base lacks the classifier: the merged
 * model must gain it.
 */
class BertCorpusTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void prngMatchesTheFixtureTestVector() {
        long seed = PrngBase.fnv1a64("a");
        assertEquals(0xaf63dc4c8601ec8cL, seed);
        assertEquals(0xbc0358f8, Float.floatToRawIntBits(PrngBase.value(seed, 0)));
        assertEquals(0x3c81f932, Float.floatToRawIntBits(PrngBase.value(seed, 1)));
        assertEquals(0xbce93f32, Float.floatToRawIntBits(PrngBase.value(seed, 3)));
    }

    @Test
    void realAdapterMergesOntoFullSizeBertLikePeft() throws Exception {
        Path caseDir = PeftFixtures.caseDir("bert-base-corpus");
        Path base = writeBase(caseDir, tmp.resolve("base"));
        Path out = tmp.resolve("merged");
        Manifest manifest;
        try (OnnxMergeKernel kernel = OnnxMergeKernel.create(false)) {
            manifest = new OfflineMerger(kernel).merge(base, PeftFixtures.corpusAdapter("bert-seqcls-lora"), out, MergeOptions.defaults());
        }
        assertEquals(new Manifest.Engine("mergeline", manifest.engine().version(), manifest.engine().mergeSemantics(),
                "CPU"), manifest.engine());
        assertEquals(24, manifest.counts().merged(), "12 layers × query, value");
        assertEquals(2, manifest.counts().added(), "classifier.weight and classifier.bias");

        JsonNode samples = JSON.readTree(caseDir.resolve("expected/samples.json").toFile());
        try (Checkpoint merged = Checkpoint.open(out);
                Checkpoint original = Checkpoint.open(base)) {
            TreeSet<String> expectedNames = new TreeSet<>();
            samples.forEach(t -> expectedNames.add(t.path("name").asText()));
            assertEquals(expectedNames, new TreeSet<>(merged.tensorNames()));
            for (JsonNode t : samples) {
                String name = t.path("name").asText();
                TensorInfo info = merged.tensor(name).orElseThrow();
                assertEquals(t.path("dtype").asText(), info.dtype().name(), name);
                List<Long> shape = new ArrayList<>();
                t.path("shape").forEach(d -> shape.add(d.asLong()));
                assertEquals(shape, info.shape(), name);
                boolean changed = name.contains(".query.weight") || name.contains(".value.weight");
                if (!changed && !name.startsWith("classifier.")) {
                    assertEquals(t.path("sha256").asText(), sha256(merged.fileOf(name), info), "copied tensor " + name);
                } else if (changed) {
                    assertSamplesClose(name, t.path("samples"), merged.fileOf(name), info,
                            PrngBase.fnv1a64(name));
                }
            }
        }
        try (Checkpoint merged = Checkpoint.open(out);
                SafetensorsFile classifier = SafetensorsFile.open(caseDir.resolve("expected/classifier.safetensors"))) {
            for (TensorInfo expected : classifier.header().tensors()) {
                TensorInfo actual = merged.tensor(expected.name()).orElseThrow();
                PeftFixtures.assertClose("bert-base-corpus", expected.name(), classifier, expected,
                        merged.fileOf(expected.name()), actual, null);
            }
        }
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        JsonNode expectedConfig = JSON.readTree(caseDir.resolve("expected/config.json").toFile());
        assertEquals(expectedConfig.path("architectures"), config.path("architectures"));
        assertEquals(2, config.path("id2label").size());
    }

    /** Sampled values within 4 fp32 ulp at the magnitude of the larger of W, W′ and the sampled deltas. */
    private static void assertSamplesClose(String name, JsonNode samples, SafetensorsFile file, TensorInfo info,
            long seed) throws IOException {
        float largestDelta = 0;
        for (JsonNode s : samples) {
            float expected = Float.intBitsToFloat((int) s.get(1).asLong());
            largestDelta = Math.max(largestDelta, Math.abs(expected - PrngBase.value(seed, s.get(0).asLong())));
        }
        assertTrue(largestDelta > 0, name + ": PEFT changed none of the sampled values?");
        for (JsonNode s : samples) {
            long index = s.get(0).asLong();
            float expected = Float.intBitsToFloat((int) s.get(1).asLong());
            float actual = file.slice(info, index * 4, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
            float w = PrngBase.value(seed, index);
            float scale = Math.max(Math.max(Math.abs(expected), Math.abs(w)), largestDelta);
            assertTrue(Math.abs(actual - expected) <= 4 * Math.ulp(scale),
                    () -> name + "[" + index + "]: expected " + expected + ", got " + actual);
        }
    }

    /** Writes the PRNG base as one model.safetensors (about 440 MB). */
    private static Path writeBase(Path caseDir, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(caseDir.resolve("base/config.json"), dir.resolve("config.json"));
        List<TensorSpec> specs = new ArrayList<>();
        for (JsonNode t : JSON.readTree(caseDir.resolve("base-tensors.json").toFile())) {
            List<Long> shape = new ArrayList<>();
            t.path("shape").forEach(d -> shape.add(d.asLong()));
            specs.add(new TensorSpec(t.path("name").asText(), DType.F32, shape));
        }
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
        try (CheckpointWriter writer = new CheckpointWriter(dir, ShardLayout.plan(specs, Long.MAX_VALUE), Map.of())) {
            for (TensorSpec spec : specs) {
                long seed = PrngBase.fnv1a64(spec.name());
                try (TensorSink sink = writer.next(spec.name())) {
                    for (long first = 0; sink.remaining() > 0; first += chunk.limit() / 4) {
                        chunk.clear().limit((int) Math.min(chunk.capacity(), sink.remaining()));
                        PrngBase.fill(seed, first, chunk);
                        chunk.flip();
                        sink.write(chunk);
                    }
                }
            }
            writer.commit();
        }
        return dir;
    }

    private static String sha256(SafetensorsFile file, TensorInfo info) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (long off = 0; off < info.byteLength(); off += 1 << 26) {
            sha.update(file.slice(info, off, (int) Math.min(1 << 26, info.byteLength() - off)));
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
