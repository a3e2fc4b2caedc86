package dev.mergeline.cli;

import static dev.mergeline.cli.MergelineCliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.testing.ConfigCorpus;
import dev.mergeline.core.testing.PeftFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The adapter-config corpus through the CLI with the production kernel (ONNX Runtime): configs
 * resolved as PEFT 0.21 resolves them, defaults reported, weights PEFT would drop refused.
 */
class ConfigCorpusCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static List<ConfigCorpus> merged() {
        return ConfigCorpus.all().stream().filter(ConfigCorpus::merges).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("merged")
    void onnxMergeEqualsPeftAndTheManifestRecordsDefaults(ConfigCorpus c) throws Exception {
        Path out = tmp.resolve("out");
        MergelineCliTest.Run run = cli("merge", "--base", c.base().toString(), "--adapter", c.adapter().toString(),
                "--out", out.toString());
        assertEquals(0, run.status(), run.report()::toPrettyString);
        PeftFixtures.assertMatchesPeft(c.name(), c.base(), c.expected(), out);
        JsonNode written = JSON.readTree(out.resolve("MANIFEST.json").toFile()).at("/adapter/configDefaults");
        TreeSet<String> recorded = new TreeSet<>();
        written.fieldNames().forEachRemaining(recorded::add);
        assertEquals(c.absentOrNullFields(), recorded, "MANIFEST.json adapter.configDefaults");
    }

    /** The minimal config with weights for q/v: validate reports where each value came from. */
    @Test
    void validateReportsTheDefaultsPeftFillsIn() throws Exception {
        ConfigCorpus c = ConfigCorpus.of("minimal-qv");
        MergelineCliTest.Run run = cli("validate", "--base", c.base().toString(), "--adapter", c.adapter().toString());
        assertEquals(0, run.status(), run.report()::toPrettyString);
        JsonNode defaults = run.report().path("configDefaults");
        assertEquals(JSON.readTree("[\"q_proj\",\"v_proj\"]"), defaults.at("/target_modules/value"));
        assertEquals("TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']",
                defaults.at("/target_modules/source").asText());
        assertEquals(8, defaults.at("/lora_alpha/value").asInt());
        assertEquals("LoraConfig default", defaults.at("/lora_alpha/source").asText());
        assertFalse(defaults.has("r"), "r is in the file");
        assertTrue(defaults.path("modules_to_save").path("value").isNull()
                && defaults.path("modules_to_save").has("value"), "a null default is reported as null: " + defaults);
    }

    /** The 4-module case is refused by validate and by merge alike, naming the modules PEFT drops. */
    @Test
    void weightsPeftWouldDropAreRefusedByValidateAndMerge() throws Exception {
        ConfigCorpus c = ConfigCorpus.of("minimal-qkvo");
        Path out = tmp.resolve("out");
        MergelineCliTest.Run validate = cli("validate", "--base", c.base().toString(), "--adapter",
                c.adapter().toString());
        MergelineCliTest.Run merge = cli("merge", "--base", c.base().toString(), "--adapter",
                c.adapter().toString(), "--out", out.toString());
        for (MergelineCliTest.Run run : List.of(validate, merge)) {
            assertEquals(2, run.status(), run.report()::toPrettyString);
            assertEquals("rejected", run.report().path("status").asText());
            TreeSet<String> modules = new TreeSet<>();
            for (JsonNode r : run.report().path("reasons")) {
                assertEquals("ADAPTER_CONFIG_INVALID", r.path("code").asText());
                assertTrue(r.path("message").asText().contains(
                        "PEFT would ignore these weights; set target_modules to include them"), r.toString());
                modules.add(r.path("tensor").asText());
            }
            assertEquals(c.modulesPeftIgnored(), modules);
            assertEquals(4, modules.size(), "k_proj and o_proj of both layers");
        }
        assertFalse(Files.exists(out.resolve("model.safetensors")), "a refused merge writes no weights");
    }
}
