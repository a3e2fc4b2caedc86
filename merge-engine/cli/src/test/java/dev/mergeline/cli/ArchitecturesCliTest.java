package dev.mergeline.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.testing.PeftFixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code mergeline validate} and {@code merge} on each vision-language family: the adapter (named in memory)
 * resolves onto the base (named on disk) by transformers' rules, the merge keeps the processor files, and a
 * model without rules is refused with the missing rule named.
 */
class ArchitecturesCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record Run(int status, JsonNode report) {}

    private static Run cli(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = new MergelineCli().run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        return new Run(status, JSON.readTree(out.toString(StandardCharsets.UTF_8)));
    }

    /**
     * {@code mergeline validate} accepts the case with {@code merged} tensors merged and a note containing
     * {@code note} (none mentioning {@code topic} when empty); {@code mergeline merge} then writes {@code out}.
     */
    private Run validateThenMerge(Path caseDir, Path out, int merged, String topic, String note) throws Exception {
        Run valid = cli("validate", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString());
        assertEquals(0, valid.status(), valid.report()::toPrettyString);
        assertEquals(merged, valid.report().at("/counts/merged").asInt());
        String notes = valid.report().path("notes").toString();
        assertTrue(note.isEmpty() ? !notes.contains(topic) : notes.contains(note), notes);
        Run run = cli("merge", "--base", caseDir.resolve("base").toString(), "--adapter",
                caseDir.resolve("adapter").toString(), "--out", out.toString());
        assertEquals(0, run.status(), run.report()::toPrettyString);
        return run;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "idefics2-tutorial-regex, 24, ''",
        "llava-qv-projector, 6, transformers' conversion rules of LlavaForConditionalGeneration",
        "gemma3-language-model, 14, transformers' conversion rules of Gemma3ForConditionalGeneration",
        "qwen2_5_vl-language-model, 10, transformers' conversion rules of Qwen2_5_VLForConditionalGeneration",
        "mllama-language-model, 14, transformers' conversion rules of MllamaForConditionalGeneration",
    })
    void validateAcceptsAndMergeKeepsProcessorFiles(String caseName, int merged, String naming) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Path out = tmp.resolve("out");
        Run run = validateThenMerge(caseDir, out, merged, "conversion rules", naming);
        PeftFixtures.assertMatchesPeft(caseName, out);
        for (String f : new String[] {"processor_config.json", "preprocessor_config.json", "chat_template.jinja",
                "generation_config.json"}) {
            assertArrayEquals(Files.readAllBytes(caseDir.resolve("base").resolve(f)), Files.readAllBytes(out.resolve(f)), f);
            assertTrue(run.report().at("/manifest/output/files").toString().contains("\"" + f + "\""), f + " in the manifest");
        }
    }

    /**
     * Mixtures of experts: {@code merged} counts on-disk tensors, so LoRA on one fused parameter of E experts counts
     * once per expert and projection where the checkpoint stores experts separately.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "mixtral-attention-router, 8, target_parameters: 2 wrapped modules",
        "mixtral-experts, 24, target_parameters: 2 wrapped modules",
        "qwen3_moe-experts, 28, target_parameters: 2 wrapped modules",
        "deepseek_v3-experts-router, 23, target_parameters: 2 wrapped modules",
        "gpt_oss-experts, 8, target_parameters: 2 wrapped modules",
        "qwen3_vl_moe-experts, 8, target_parameters: 2 wrapped modules",
        "mixtral-legacy-per-expert, 30, ''",
    })
    void validateAcceptsMixturesOfExpertsAndMergeMatchesPeft(String caseName, int merged, String note) throws Exception {
        Path caseDir = PeftFixtures.caseDir(caseName);
        Path out = tmp.resolve("out");
        Run run = validateThenMerge(caseDir, out, merged, "target_parameters", note);
        assertEquals(merged, run.report().at("/manifest/counts/merged").asInt());
        PeftFixtures.assertMatchesPeft(caseName, out);
        try (dev.mergeline.safetensors.Checkpoint written = dev.mergeline.safetensors.Checkpoint.open(out)) {
            JsonNode modules = run.report().at("/manifest/adapter/mergedModules");
            assertEquals(merged, modules.size());
            for (JsonNode m : modules) {
                assertTrue(written.tensorNames().contains(m.asText() + ".weight")
                        || written.tensorNames().contains(m.asText()), m + " names a merged tensor");
            }
        }
    }

    @Test
    void aBaseWithoutConversionRulesIsRefusedWithTheMissingRuleNamed() throws Exception {
        Path caseDir = PeftFixtures.caseDir("gemma3-language-model");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        config.put("model_type", "tiny_vlm");
        config.putArray("architectures").add("TinyVlmForConditionalGeneration");
        JSON.writeValue(base.resolve("config.json").toFile(), config);

        Run run = cli("validate", "--base", base.toString(), "--adapter", caseDir.resolve("adapter").toString());

        assertEquals(2, run.status(), run.report()::toPrettyString);
        JsonNode first = run.report().at("/reasons/0");
        assertEquals("TARGET_MODULE_NOT_FOUND", first.path("code").asText(), run.report()::toPrettyString);
        assertTrue(first.path("message").asText().contains("has no rule for architecture TinyVlmForConditionalGeneration"),
                first::toPrettyString);
        assertTrue(first.path("message").asText().contains("the base has language_model.model.layers."), first::toPrettyString);
    }
}
