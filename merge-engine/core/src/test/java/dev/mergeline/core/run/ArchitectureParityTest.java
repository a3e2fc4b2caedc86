package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.output.Manifest;
import dev.mergeline.core.output.ModelFiles;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.safetensors.Checkpoint;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The vision-language and mixture-of-experts fixture cases (generate_arch_fixtures.py), whose checkpoints name
 * weights differently on disk than PEFT adapters do: beyond {@link PeftParityTest}'s tensor comparison, the
 * merge writes the base's on-disk names, the config save_pretrained writes and every processor/template file.
 */
class ArchitectureParityTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Cases whose adapter names modules in the in-memory naming of a model with two namings. */
    static List<String> cases() throws IOException {
        List<String> out = new ArrayList<>();
        for (String c : PeftFixtures.checkpointCases()) {
            List<String> features = features(c);
            if (features.contains("vision-language") || features.contains("mixture-of-experts")) {
                out.add(c);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void mergeWritesOnDiskNamesConfigAndProcessorFiles(String caseName, @TempDir Path tmp) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Path out = tmp.resolve("merged");
        MergePlan plan;
        Manifest manifest;
        try (ReferenceMergeKernel kernel = new ReferenceMergeKernel()) {
            OfflineMerger merger = new OfflineMerger(kernel);
            plan = merger.validate(caseDir.resolve("base"), caseDir.resolve("adapter"), MergeOptions.defaults());
            manifest = merger.merge(caseDir.resolve("base"), caseDir.resolve("adapter"), out, MergeOptions.defaults());
        }
        PeftFixtures.assertMatchesPeft(caseName, out);
        // Per-expert checkpoints take one merged tensor per expert and projection from one wrapped parameter, so
        // the count is PEFT's: the on-disk tensors save_pretrained wrote with other bytes than the base's.
        int changedByPeft = changedTensors(caseDir.resolve("base"), caseDir.resolve("expected"));
        assertEquals(changedByPeft, manifest.counts().merged(), "every tensor PEFT changed is merged, no other");
        assertEquals(changedByPeft, plan.tensors().stream().filter(t -> t.op() instanceof dev.mergeline.core.plan.TensorOp.LowRank).count());
        assertEquals(withoutDType(JSON.readTree(caseDir.resolve("expected/config.json").toFile())),
                withoutDType(JSON.readTree(out.resolve("config.json").toFile())), "config.json as save_pretrained writes it");
        List<String> carried = new ArrayList<>();
        try (Stream<Path> s = Files.list(caseDir.resolve("base"))) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (ModelFiles.carriedFromBase(name)) {
                    assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(out.resolve(name)), name);
                    carried.add(name);
                }
            }
        }
        if (features(caseName).contains("processor files")) {
            assertTrue(carried.containsAll(List.of("processor_config.json", "preprocessor_config.json",
                    "chat_template.jinja")), "the fixture carries processor files: " + carried);
        }
    }

    private static List<String> features(String caseName) throws IOException {
        List<String> out = new ArrayList<>();
        JSON.readTree(PeftFixtures.caseDir(caseName).resolve("case.json").toFile()).path("features")
                .forEach(f -> out.add(f.asText()));
        return out;
    }

    /** Tensors of {@code expected} whose bytes differ from the base tensor of the same name. */
    private static int changedTensors(Path base, Path expected) throws IOException {
        int changed = 0;
        try (Checkpoint b = Checkpoint.open(base); Checkpoint e = Checkpoint.open(expected)) {
            for (String name : e.tensorNames()) {
                TensorInfo te = e.tensor(name).orElseThrow();
                TensorInfo tb = b.tensor(name).orElse(null);
                if (tb == null || tb.dtype() != te.dtype() || !tb.shape().equals(te.shape())
                        || !e.fileOf(name).slice(te, 0, Math.toIntExact(te.byteLength()))
                                .equals(b.fileOf(name).slice(tb, 0, Math.toIntExact(tb.byteLength())))) {
                    changed++;
                }
            }
        }
        return changed;
    }

    /** transformers records the dtype it loaded with; the engine keeps the base's config as it is. */
    private static JsonNode withoutDType(JsonNode config) {
        ObjectNode copy = config.deepCopy();
        List<ObjectNode> objects = new ArrayList<>(List.of(copy));
        copy.fields().forEachRemaining(e -> {
            if (e.getValue() instanceof ObjectNode o) {
                objects.add(o);
            }
        });
        objects.forEach(o -> o.remove(List.of("dtype", "torch_dtype", "transformers_version")));
        return copy;
    }
}
