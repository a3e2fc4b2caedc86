package dev.mergeline.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.quant.Fp8E4m3;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The FP8 fixture cases ({@code merge-engine/fixtures/fp8/}, made by {@code generate_fp8_fixtures.py})
 * and the comparisons of a merged output with them.
 */
public final class Fp8Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fp8Fixtures() {}

    public static Path dir() {
        return PeftFixtures.casesDir().resolveSibling("fp8");
    }

    public static List<String> cases() throws IOException {
        List<String> names = new ArrayList<>();
        JSON.readTree(dir().resolve("index.json").toFile()).path("cases").forEach(c -> names.add(c.asText()));
        return names;
    }

    public static Path caseDir(String name) {
        return dir().resolve("cases").resolve(name);
    }

    /**
     * An FP8 output against transformers + PEFT: the merged FP8 weights bit-identical to what
     * {@code save_pretrained} re-quantized, their scales in equal fp32 bits; every other tensor (untouched
     * FP8 weights, their scales, bf16 tensors) byte-identical to the base; config.json keeps
     * {@code quantization_config}. Returns the number of merged FP8 weights compared.
     */
    public static int assertFp8MatchesReference(String caseName, Path out) throws IOException {
        Path caseDir = caseDir(caseName);
        Set<String> merged = mergedWeights(caseDir);
        try (Checkpoint base = Checkpoint.open(caseDir.resolve("base"));
                Checkpoint expected = Checkpoint.open(caseDir.resolve("expected"));
                Checkpoint actual = Checkpoint.open(out)) {
            assertEquals(new TreeSet<>(base.tensorNames()), new TreeSet<>(actual.tensorNames()), caseName + ": tensor names");
            int compared = 0;
            for (String name : actual.tensorNames()) {
                String weight = name.endsWith("_scale_inv") ? name.substring(0, name.length() - "_scale_inv".length()) : name;
                Checkpoint reference = merged.contains(weight) ? expected : base;
                TensorInfo e = reference.tensor(name).orElseThrow();
                TensorInfo a = actual.tensor(name).orElseThrow();
                assertEquals(e.dtype(), a.dtype(), caseName + ": dtype of " + name);
                assertEquals(e.shape(), a.shape(), caseName + ": shape of " + name);
                ByteBuffer eb = bytes(reference.fileOf(name), e);
                ByteBuffer ab = bytes(actual.fileOf(name), a);
                if (!eb.equals(ab)) {
                    throw new AssertionError(caseName + ": " + name + " differs from "
                            + (reference == base ? "the base (it must be copied byte for byte)" : "transformers' re-quantized merge")
                            + ": " + firstDifference(e.dtype(), eb, ab));
                }
                compared += merged.contains(name) ? 1 : 0;
            }
            assertTrue(compared > 0, caseName + ": no merged FP8 weight compared");
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals(JSON.readTree(caseDir.resolve("base/config.json").toFile()).get("quantization_config"),
                    config.get("quantization_config"), caseName + ": quantization_config kept");
            return compared;
        }
    }

    /** A dequantized ({@code --dtype bf16}) output against PEFT's merged model in memory, within 1 ulp. */
    public static void assertDequantizedMatchesPeft(String caseName, Path out) throws IOException {
        Path caseDir = caseDir(caseName);
        try (Checkpoint actual = Checkpoint.open(out);
                SafetensorsFile state = SafetensorsFile.open(caseDir.resolve("expected/state_dict.safetensors"))) {
            List<String> names = state.header().tensors().stream().map(TensorInfo::name).toList();
            assertEquals(new TreeSet<>(names), new TreeSet<>(actual.tensorNames()), caseName + ": tensor names");
            for (String name : names) {
                TensorInfo e = state.header().tensor(name).orElseThrow();
                TensorInfo a = actual.tensor(name).orElseThrow();
                assertEquals(DType.BF16, a.dtype(), caseName + ": dtype of " + name);
                PeftFixtures.assertClose(caseName, name, state, e, actual.fileOf(name), a, null);
            }
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertFalse(config.has("quantization_config"), caseName + ": a dequantized output has no quantization_config");
        }
    }

    private static Set<String> mergedWeights(Path caseDir) throws IOException {
        Set<String> merged = new TreeSet<>();
        try (SafetensorsFile adapter = SafetensorsFile.open(caseDir.resolve("adapter/adapter_model.safetensors"))) {
            for (TensorInfo t : adapter.header().tensors()) {
                int at = t.name().indexOf(".lora_A.");
                if (at > 0) {
                    merged.add(t.name().substring("base_model.model.".length(), at) + ".weight");
                }
            }
        }
        return merged;
    }

    private static ByteBuffer bytes(SafetensorsFile f, TensorInfo t) throws IOException {
        return f.slice(t, 0, Math.toIntExact(t.byteLength())).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static String firstDifference(DType dtype, ByteBuffer e, ByteBuffer a) {
        int size = dtype.byteSize();
        int differing = 0;
        int first = -1;
        for (int i = 0; i < e.limit() / size; i++) {
            boolean same = dtype == DType.F32 ? e.getInt(i * 4) == a.getInt(i * 4) : e.get(i) == a.get(i);
            if (!same) {
                differing++;
                first = first < 0 ? i : first;
            }
        }
        if (first < 0) {
            return "lengths differ";
        }
        String values = dtype == DType.F8_E4M3
                ? Fp8E4m3.decode(e.get(first)) + " vs " + Fp8E4m3.decode(a.get(first))
                : dtype == DType.F32 ? e.getFloat(first * 4) + " vs " + a.getFloat(first * 4) : "";
        return differing + " elements, first at " + first + " (" + values + ")";
    }
}
