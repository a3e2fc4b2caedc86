package dev.mergeline.core.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.OfflineMerger;
import dev.mergeline.core.testing.PeftFixtures;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The serving report on real PEFT adapters (the fixtures), one rule at a time. */
class ServingRulesTest {

    private final ServingRules rules = ServingRules.bundled();

    private MergePlan plan(String fixtureCase) throws Exception {
        Path dir = PeftFixtures.caseDir(fixtureCase);
        return new OfflineMerger(new ReferenceMergeKernel())
                .validate(dir.resolve("base"), dir.resolve("adapter"), MergeOptions.defaults());
    }

    @Test
    void aPlainLoraIsServableByBothEngines() throws Exception {
        Map<String, ServingVerdict> report = rules.assess(plan("llama-bf16-plain"));
        assertEquals(List.of("vllm", "lorax"), List.copyOf(report.keySet()));
        assertTrue(report.get("vllm").servableUnmerged(), report.toString());
        assertEquals(List.of("largest rank 8 fits vLLM's default max_lora_rank 16"), report.get("vllm").reasons());
        assertTrue(report.get("lorax").servableUnmerged(), report.toString());
        assertEquals(List.of(), report.get("lorax").reasons());
    }

    @Test
    void doraIsRefusedByVllmAndServedWronglyByLorax() throws Exception {
        Map<String, ServingVerdict> report = rules.assess(plan("llama-fp32-dora"));
        assertFalse(report.get("vllm").servableUnmerged());
        assertEquals(List.of("vLLM refuses to load it: use_dora is set; vLLM does not support DoRA"),
                report.get("vllm").reasons());
        assertFalse(report.get("lorax").servableUnmerged());
        assertTrue(report.get("lorax").reasons().get(0).startsWith("would be served wrongly by LoRAX: use_dora"),
                report.toString());
    }

    @Test
    void modulesToSaveIsRefusedByVllmAndIgnoredByLorax() throws Exception {
        Map<String, ServingVerdict> report = rules.assess(plan("llama-modules-to-save"));
        assertFalse(report.get("vllm").servableUnmerged());
        assertTrue(report.get("vllm").reasons().get(0).contains("modules_to_save being None"), report.toString());
        assertFalse(report.get("lorax").servableUnmerged());
    }

    @Test
    void rankAndAlphaPatternsAreServedWronglyByBoth() throws Exception {
        Map<String, ServingVerdict> report = rules.assess(plan("llama-patterns-rank-alpha"));
        for (String engine : List.of("vllm", "lorax")) {
            ServingVerdict v = report.get(engine);
            assertFalse(v.servableUnmerged(), engine);
            assertTrue(v.reasons().stream().anyMatch(r -> r.contains("rank_pattern is set")), v.toString());
            assertTrue(v.reasons().stream().anyMatch(r -> r.contains("alpha_pattern is set")), v.toString());
        }
    }

    @Test
    void embeddingLoraIsServedWronglyByLoraxOnly() throws Exception {
        Map<String, ServingVerdict> report = rules.assess(plan("llama-embedding"));
        assertTrue(report.get("vllm").servableUnmerged(), report.toString());
        assertFalse(report.get("lorax").servableUnmerged());
        assertTrue(report.get("lorax").reasons().get(0).contains("lora_embedding_A/B"), report.toString());
    }

    @Test
    void loraOnFusedExpertParametersIsNotServableUnmergedByVllm() throws Exception {
        ServingVerdict vllm = rules.assess(plan("gpt_oss-experts")).get("vllm");
        assertFalse(vllm.servableUnmerged(), vllm.toString());
        assertEquals(1, vllm.reasons().size(), vllm.toString());
        assertTrue(vllm.reasons().get(0).startsWith(
                "vLLM serves it as PEFT computes only on some models: target_parameters is set"), vllm.toString());
    }

    @Test
    void biasesAreCaughtPerKind() throws Exception {
        assertTrue(rules.assess(plan("qwen2-bias-all")).get("vllm").reasons().get(0)
                .contains("bias is not \"none\""));
        assertTrue(rules.assess(plan("qwen2-bias")).get("vllm").reasons().stream()
                .anyMatch(r -> r.contains("lora_bias is set")));
    }

    @Test
    void ranksAboveTheDefaultNeedASettingAndAboveTheMaximumAreRefused() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ServingRules engine = ServingRules.parse(json.readTree("""
                {"engines": {"e": {"name": "E", "maxRankChoices": [1, 8], "defaultMaxRank": 1, "rules": [
                  {"feature": "RANK_ABOVE_ENGINE_MAX", "effect": "REFUSES", "message": "too large"},
                  {"feature": "RANK_ABOVE_ENGINE_DEFAULT", "effect": "NEEDS", "message": "set --max-lora-rank"}]}}}
                """));
        ServingVerdict r8 = engine.assess(plan("llama-bf16-plain")).get("e");
        assertTrue(r8.servableUnmerged(), r8.toString());
        assertEquals(List.of("set --max-lora-rank 8 (largest rank 8)"), r8.reasons());

        ServingRules small = ServingRules.parse(json.readTree("""
                {"engines": {"e": {"name": "E", "maxRankChoices": [1, 4], "defaultMaxRank": 1, "rules": [
                  {"feature": "RANK_ABOVE_ENGINE_MAX", "effect": "REFUSES", "message": "too large"},
                  {"feature": "RANK_ABOVE_ENGINE_DEFAULT", "effect": "NEEDS", "message": "set --max-lora-rank"}]}}}
                """));
        ServingVerdict refused = small.assess(plan("llama-bf16-plain")).get("e");
        assertFalse(refused.servableUnmerged());
        assertEquals(List.of("E refuses to load it: too large (largest rank 8)"), refused.reasons());
    }

    @Test
    void everyFeatureHasARuleForAtLeastOneEngine() throws Exception {
        Set<AdapterFeature> used = EnumSet.noneOf(AdapterFeature.class);
        new ObjectMapper().readTree(ServingRules.class.getResourceAsStream("serving-rules.json"))
                .path("engines").forEach(e -> e.path("rules")
                        .forEach(r -> used.add(AdapterFeature.valueOf(r.path("feature").asText()))));
        assertEquals(EnumSet.allOf(AdapterFeature.class), used);
    }
}
