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
            JsonNode features = JSON.readTree(PeftFixtures.caseDir(c).resolve("case.json").toFile()).path("features");
            for (JsonNode f : features) {
                if (f.asText().equals("vision-language") || f.asText().equals("mixture-of-experts")) {
                    out.add(c);
                    break;
                }
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
        int adapterModules = JSON.readTree(caseDir.resolve("case.json").toFile()).path("analysis")
                .path("adapter_file_keys").size() / 2;
        assertEquals(adapterModules, manifest.counts().merged(), "every LoRA module merged into one base tensor");
        assertEquals(adapterModules, plan.tensors().stream().filter(t -> t.op() instanceof dev.mergeline.core.plan.TensorOp.LowRank).count());
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
        assertTrue(carried.containsAll(List.of("processor_config.json", "preprocessor_config.json", "chat_template.jinja")),
                "the fixture carries processor files: " + carried);
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
