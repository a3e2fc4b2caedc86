package dev.mergeline.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark's generator, at a tiny size: what it writes is a sharded checkpoint and a PEFT
 * adapter that Mergeline merges, with every projection changed exactly by {@code W + s·B@A}.
 * (Timings belong to {@code run.sh}, not to tests.)
 */
class SyntheticLlamaTest {

    @Test
    void tinyCheckpointAndAdapterMerge(@TempDir Path tmp) throws Exception {
        SyntheticLlama.Shape shape = new SyntheticLlama.Shape(64, 96, 128, 2);
        SyntheticLlama.Result r = SyntheticLlama.generate(tmp.resolve("gen"), shape, 4, 8, 40_000, 7);
        assertTrue(r.baseFiles() > 1, "sharded at 40 kB: " + r.baseFiles() + " files");
        assertTrue(Files.exists(r.base().resolve("model.safetensors.index.json")));
        JsonNode config = new ObjectMapper().readTree(r.base().resolve("config.json").toFile());
        assertEquals(2, config.get("num_hidden_layers").asInt());
        assertEquals("llama", config.get("model_type").asText());
        JsonNode adapterConfig = new ObjectMapper().readTree(r.adapter().resolve("adapter_config.json").toFile());
        assertEquals(4, adapterConfig.get("r").asInt());

        Path out = tmp.resolve("merged");
        Manifest m;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            m = new OfflineMerger(kernel).merge(r.base(), r.adapter(), out,
                    new MergeOptions(Optional.empty(), MergeOptions.DEFAULT_SHARD_BYTES, 4096));
        }
        assertEquals(2 * 7, m.counts().merged());
        assertEquals(2 + 2 * 2 + 1, m.counts().copied(), "embeddings, lm_head and the norms");

        try (Checkpoint base = Checkpoint.open(r.base()); Checkpoint merged = Checkpoint.open(out);
                SafetensorsFile adapter = SafetensorsFile.open(r.adapter().resolve("adapter_model.safetensors"))) {
            assertArrayEquals(bytes(base, "lm_head.weight"), bytes(merged, "lm_head.weight"), "copied unchanged");
            // A merged projection, recomputed here: W' = bf16(W + (alpha/r)·B@A), within one bf16 rounding.
            String module = "model.layers.1.mlp.down_proj";
            TensorInfo w = base.tensor(module + ".weight").orElseThrow();
            int rows = w.shape().get(0).intValue();
            int cols = w.shape().get(1).intValue();
            FloatBuffer a = floats(adapter, "base_model.model." + module + ".lora_A.weight");
            FloatBuffer b = floats(adapter, "base_model.model." + module + ".lora_B.weight");
            ByteBuffer wb = ByteBuffer.wrap(bytes(base, module + ".weight")).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer mb = ByteBuffer.wrap(bytes(merged, module + ".weight")).order(ByteOrder.LITTLE_ENDIAN);
            int changed = 0;
            for (int row = 0; row < rows; row++) {
                for (int col = 0; col < cols; col++) {
                    float delta = 0;
                    for (int k = 0; k < 4; k++) {
                        delta += b.get(row * 4 + k) * a.get(k * cols + col);
                    }
                    float before = bf16(wb.getShort((row * cols + col) * 2));
                    float after = bf16(mb.getShort((row * cols + col) * 2));
                    float expected = before + 2.0f * delta;
                    assertEquals(expected, after, Math.ulp(expected) * (1 << 15) * 1.01, "element " + row + "," + col);
                    changed += before != after ? 1 : 0;
                }
            }
            assertTrue(changed > rows * cols / 2, changed + " of " + rows * cols + " elements changed");
        }
    }

    /** With --fp8-block, the projections are F8_E4M3 with fitting scale grids and merge back into FP8. */
    @Test
    void fp8CheckpointMergesInItsFormat(@TempDir Path tmp) throws Exception {
        SyntheticLlama.Shape shape = new SyntheticLlama.Shape(64, 96, 128, 1);
        SyntheticLlama.Result r = SyntheticLlama.generate(tmp.resolve("gen"), shape, 4, 8, Long.MAX_VALUE, 7, 32);
        JsonNode config = new ObjectMapper().readTree(r.base().resolve("config.json").toFile());
        assertEquals("fp8", config.at("/quantization_config/quant_method").asText());
        Path out = tmp.resolve("merged");
        Manifest m;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            m = new OfflineMerger(kernel).merge(r.base(), r.adapter(), out,
                    new MergeOptions(Optional.empty(), MergeOptions.DEFAULT_SHARD_BYTES, 4096));
        }
        assertEquals(7, m.counts().merged());
        assertEquals("fp8", m.output().quantization().method());
        try (Checkpoint merged = Checkpoint.open(out)) {
            TensorInfo down = merged.tensor("model.layers.0.mlp.down_proj.weight").orElseThrow();
            assertEquals(dev.mergeline.safetensors.DType.F8_E4M3, down.dtype());
            assertEquals(java.util.List.of(2L, 3L),
                    merged.tensor("model.layers.0.mlp.down_proj.weight_scale_inv").orElseThrow().shape(),
                    "[ceil(64/32), ceil(96/32)]");
        }
    }

    @Test
    void layersFollowTheRequestedSize() {
        SyntheticLlama.Shape two = SyntheticLlama.Shape.forBytes(4096, 11008, 32000, 2L << 30);
        SyntheticLlama.Shape four = SyntheticLlama.Shape.forBytes(4096, 11008, 32000, 4L << 30);
        assertEquals(4, two.layers());
        assertEquals(9, four.layers());
        assertEquals(2L << 30, two.bytes(), 0.05 * (2L << 30));
    }

    private static byte[] bytes(Checkpoint c, String name) throws Exception {
        TensorInfo t = c.tensor(name).orElseThrow();
        ByteBuffer b = c.fileOf(name).slice(t, 0, (int) t.byteLength());
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static FloatBuffer floats(SafetensorsFile f, String name) throws Exception {
        TensorInfo t = f.header().tensor(name).orElseThrow();
        return f.slice(t, 0, (int) t.byteLength()).asFloatBuffer();
    }

    private static float bf16(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
