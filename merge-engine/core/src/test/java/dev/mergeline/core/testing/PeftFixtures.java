package dev.mergeline.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.FloatBits;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsFile;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The PEFT fixtures of {@code merge-engine/fixtures/cases} (made by {@code generate_fixtures.py}
 * with torch/transformers/peft) and the comparison of a Mergeline output against PEFT's
 * {@code merge_and_unload()} + {@code save_pretrained()}.
 */
public final class PeftFixtures {
    /**
     * Largest accepted distance in units in the last place, by output dtype. The unit is the ulp
     * at the magnitude of the largest of the base value W, PEFT's value W' and the tensor's largest
     * delta |W' − W|: a dot product's rounding error scales with its terms, not with its result,
     * so where W + ΔW cancels the result's own ulp is far smaller than the error any fp32 matmul
     * (another summation order, FMA or not) has. bf16 and fp16 results are compared at their own ulp.
     */
    public static int maxUlp(DType dtype) {
        return dtype == DType.F32 ? 4 : 1;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftFixtures() {}

    /** {@code merge-engine/fixtures/cases}, found from any module directory of merge-engine. */
    public static Path casesDir() {
        for (Path p : List.of(Path.of("../fixtures/cases"), Path.of("merge-engine/fixtures/cases"),
                Path.of("../merge-engine/fixtures/cases"),
                Path.of("fixtures/cases"))) {
            if (Files.isDirectory(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("merge-engine/fixtures/cases not found from " + Path.of("").toAbsolutePath());
    }

    /**
     * The vendored real-world adapters, {@code merge-engine/fixtures/corpus/<name>} (see that
     * directory's README for their provenance).
     */
    public static Path corpusAdapter(String name) {
        Path dir = casesDir().resolveSibling("corpus").resolve(name);
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("corpus adapter " + name + " not found at " + dir);
        }
        return dir;
    }

    /** Names of the cases that ship base, adapter and expected checkpoints (all but the corpus case). */
    public static List<String> checkpointCases() throws IOException {
        JsonNode index = JSON.readTree(casesDir().resolve("index.json").toFile());
        List<String> names = new ArrayList<>();
        index.path("cases").forEach(c -> names.add(c.path("name").asText()));
        names.removeIf(n -> !Files.isDirectory(caseDir(n).resolve("adapter")));
        return names;
    }

    public static Path caseDir(String name) {
        return casesDir().resolve(name);
    }

    /** Copies the files of {@code from} (not recursive) into a new directory {@code to}, for tests that alter a case. */
    public static Path copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (java.util.stream.Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    /**
     * Asserts that {@code outDir} holds what PEFT produced for {@code caseName}: the same tensor
     * names as {@code save_pretrained} wrote, each with PEFT's dtype and shape and values within
     * {@link #maxUlp}, and the same {@code tie_word_embeddings}, {@code architectures} and
     * {@code vocab_size} (top level and {@code text_config}).
     */
    public static void assertMatchesPeft(String caseName, Path outDir) throws IOException {
        assertMatchesPeft(caseName, caseDir(caseName).resolve("base"), caseDir(caseName).resolve("expected"), outDir);
    }

    /** {@link #assertMatchesPeft(String, Path)} for a base and PEFT output that live elsewhere. */
    public static void assertMatchesPeft(String caseName, Path baseDir, Path expectedDir, Path outDir)
            throws IOException {
        try (Checkpoint base = Checkpoint.open(baseDir);
                Checkpoint out = Checkpoint.open(outDir);
                Checkpoint saved = Checkpoint.open(expectedDir);
                SafetensorsFile state = SafetensorsFile.open(reference(expectedDir))) {
            assertEquals(new TreeSet<>(savedNames(saved)), new TreeSet<>(out.tensorNames()),
                    caseName + ": tensor names differ from save_pretrained's");
            int changed = 0;
            for (String name : out.tensorNames()) {
                TensorInfo actual = out.tensor(name).orElseThrow();
                TensorInfo expected = state.header().tensor(name)
                        .orElseThrow(() -> new AssertionError(caseName + ": PEFT state dict lacks " + name));
                assertEquals(expected.dtype(), actual.dtype(), caseName + ": dtype of " + name);
                assertEquals(expected.shape(), actual.shape(), caseName + ": shape of " + name);
                TensorInfo original = base.tensor(name).filter(b -> b.dtype() == expected.dtype()
                        && b.shape().equals(expected.shape())).orElse(null);
                assertClose(caseName, name, state, expected, out.fileOf(name), actual,
                        original == null ? null : base.fileOf(name).slice(original, 0, Math.toIntExact(original.byteLength())));
                changed++;
            }
            assertTrue(changed > 0, caseName + ": no tensors compared");
        }
        JsonNode expectedConfig = JSON.readTree(expectedDir.resolve("config.json").toFile());
        JsonNode actualConfig = JSON.readTree(outDir.resolve("config.json").toFile());
        assertEquals(expectedConfig.path("tie_word_embeddings").asBoolean(true),
                actualConfig.path("tie_word_embeddings").asBoolean(true), caseName + ": tie_word_embeddings");
        assertEquals(expectedConfig.path("architectures"), actualConfig.path("architectures"), caseName + ": architectures");
        assertEquals(expectedConfig.path("vocab_size"), actualConfig.path("vocab_size"), caseName + ": vocab_size");
        assertEquals(expectedConfig.at("/text_config/vocab_size"), actualConfig.at("/text_config/vocab_size"),
                caseName + ": text_config.vocab_size");
    }

    /**
     * PEFT's merged tensors: {@code state_dict.safetensors} (the full {@code merged.state_dict()}), or, for models
     * whose in-memory names differ from their on-disk names, the single file {@code save_pretrained} wrote.
     */
    private static Path reference(Path expectedDir) {
        Path state = expectedDir.resolve("state_dict.safetensors");
        return Files.exists(state) ? state : expectedDir.resolve("model.safetensors");
    }

    /** The spacing of {@code dtype} values at magnitude {@code v}. */
    static float ulp(float v, DType dtype) {
        return switch (dtype) {
            case F32 -> Math.ulp(v);
            case BF16 -> Math.ulp(v) * 65536f;
            default -> Math.max(Math.ulp(v) * 8192f, 5.96e-8f); // F16: 10 mantissa bits, subnormal floor
        };
    }

    private static List<String> savedNames(Checkpoint saved) {
        return saved.tensorNames();
    }

    /** Element-wise comparison in ulps of the tensor's dtype; integer tensors must be identical. */
    public static void assertClose(String caseName, String name, SafetensorsFile expectedFile, TensorInfo expected,
            SafetensorsFile actualFile, TensorInfo actual, ByteBuffer original) throws IOException {
        ByteBuffer e = expectedFile.slice(expected, 0, Math.toIntExact(expected.byteLength()));
        ByteBuffer a = actualFile.slice(actual, 0, Math.toIntExact(actual.byteLength()));
        DType dtype = expected.dtype();
        if (!dtype.isMergeable()) {
            assertEquals(e, a, caseName + ": bytes of " + name);
            return;
        }
        int n = Math.toIntExact(expected.elementCount());
        float largestDelta = 0;
        for (int i = 0; original != null && i < n; i++) {
            largestDelta = Math.max(largestDelta, Math.abs(FloatBits.get(e, dtype, i) - FloatBits.get(original, dtype, i)));
        }
        long worst = 0;
        int worstAt = -1;
        for (int i = 0; i < n; i++) {
            float ev = FloatBits.get(e, dtype, i);
            float ov = original == null ? 0f : FloatBits.get(original, dtype, i);
            float scale = dtype == DType.F32 ? Math.max(Math.max(Math.abs(ev), Math.abs(ov)), largestDelta) : Math.abs(ev);
            long d = Math.abs(ev - FloatBits.get(a, dtype, i)) <= ulp(scale, dtype) * maxUlp(dtype) ? 0
                    : FloatBits.ulpDistance(FloatBits.getBits(e, dtype, i), FloatBits.getBits(a, dtype, i), dtype);
            if (d > worst) {
                worst = d;
                worstAt = i;
            }
        }
        if (worst > maxUlp(dtype)) {
            fail(caseName + ": " + name + " differs from PEFT by " + worst + " ulp at element " + worstAt + " (expected "
                    + FloatBits.get(e, dtype, worstAt) + ", got " + FloatBits.get(a, dtype, worstAt) + "; limit "
                    + maxUlp(dtype) + " ulp for " + dtype + ")");
        }
    }
}
