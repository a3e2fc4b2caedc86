package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Absent and null fields resolved as PEFT 0.21 resolves them, and what is recorded about it. */
class ConfigResolverTest {
    /** Shared by the matches of one test, as by those of one plan. */
    private final RegexBudget budget = RegexBudget.perValidation();
    private final ConfigResolver resolver = new ConfigResolver();

    private static AdapterConfig parse(String json) throws RejectedException {
        return new AdapterConfigParser().parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void minimalConfigTakesTheArchitecturesTargetsAndLoraConfigDefaults() throws Exception {
        ResolvedConfig r = resolver.resolve(parse("""
                {"peft_type":"LORA","r":16,"task_type":"CAUSAL_LM","base_model_name_or_path":"x"}"""), "llama");
        assertEquals(new ModuleSelector.Names(List.of("q_proj", "v_proj")), r.config().targetModules());
        assertTrue(r.config().targets("model.layers.0.self_attn.q_proj", budget));
        assertFalse(r.config().targets("model.layers.0.self_attn.k_proj", budget));
        assertEquals("TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']",
                r.defaults().get("target_modules").source());
        assertEquals(8, r.defaults().get("lora_alpha").value().asInt());
        assertEquals("LoraConfig default", r.defaults().get("lora_alpha").source());
        assertEquals(0.5f, r.config().scalingFor("model.layers.0.self_attn.q_proj", budget), "alpha 8 / r 16");
        assertFalse(r.defaults().containsKey("r"), "r was in the file");
        assertEquals(List.copyOf(ConfigResolver.MERGE_FIELDS).size() - 1, r.defaults().size(),
                "every merge field but r came from defaults: " + r.defaults().keySet());
    }

    @Test
    void explicitNullTargetModulesAlsoTakesTheDefault() throws Exception {
        ResolvedConfig r = resolver.resolve(parse("{\"peft_type\":\"LORA\",\"target_modules\":null}"), "gpt2");
        assertEquals(new ModuleSelector.Names(List.of("c_attn")), r.config().targetModules());
    }

    @Test
    void regexDefaultIsARegex() throws Exception {
        ResolvedConfig r = resolver.resolve(parse("{\"peft_type\":\"LORA\"}"), "gemma4");
        assertTrue(r.config().targetModules() instanceof ModuleSelector.Regex);
        assertTrue(r.config().targets("model.language_model.layers.0.self_attn.q_proj", budget));
        assertFalse(r.config().targets("model.vision_tower.layers.0.self_attn.q_proj", budget));
    }

    @Test
    void fullConfigTakesNothingFromDefaults() throws Exception {
        ResolvedConfig r = resolver.resolve(parse("""
                {"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj"],"exclude_modules":null,
                 "layers_to_transform":null,"layers_pattern":null,"rank_pattern":{},"alpha_pattern":{},
                 "use_rslora":false,"use_dora":false,"bias":"none","lora_bias":false,"modules_to_save":null,
                 "init_lora_weights":true}"""), "no-default-arch");
        assertEquals(List.of("exclude_modules", "layers_to_transform", "layers_pattern", "modules_to_save"),
                List.copyOf(r.defaults().keySet()), "only nulls whose default is null");
        assertEquals(new ModuleSelector.Names(List.of("q_proj")), r.config().targetModules());
    }

    @Test
    void architectureWithoutDefaultAndWithoutTargetsIsRefused() throws Exception {
        RejectedException e = assertThrows(RejectedException.class,
                () -> resolver.resolve(parse("{\"peft_type\":\"LORA\",\"r\":4}"), "mamba"));
        Reason reason = e.reasons().get(0);
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reason.code());
        assertEquals("target_modules", reason.detail());
        assertEquals("model_type 'mamba'", reason.actual());
        assertTrue(reason.message().contains("no default target modules for model_type 'mamba'"), reason.message());
        assertTrue(reason.message().contains("Please specify `target_modules`"), reason.message());
    }

    @Test
    void nullsPeftCannotLoadAreRefusedAndNullBooleansAreFalse() throws Exception {
        RejectedException e = assertThrows(RejectedException.class, () -> resolver.resolve(parse("""
                {"peft_type":"LORA","r":null,"lora_alpha":null,"target_modules":["q_proj"]}"""), "llama"));
        assertEquals(List.of("r", "lora_alpha"), e.reasons().stream().map(Reason::detail).toList());
        assertTrue(e.reasons().get(0).message().contains("default 8"), e.reasons().get(0).message());
        ResolvedConfig r = resolver.resolve(parse("""
                {"peft_type":"LORA","use_dora":null,"target_modules":["q_proj"]}"""), "llama");
        assertEquals("null, which PEFT treats as false", r.defaults().get("use_dora").source());
        assertFalse(r.config().useDora());
    }

    @Test
    void explainAddsTheDefaultsOriginToUntargetedWeightReasons() throws Exception {
        ResolvedConfig r = resolver.resolve(parse("{\"peft_type\":\"LORA\"}"), "llama");
        Reason untargeted = new Reason(ReasonCode.ADAPTER_CONFIG_INVALID, "m", "k_proj", null, null, "target_modules");
        Reason other = Reason.of(ReasonCode.RANK_MISMATCH, "x");
        List<Reason> explained = r.explain(List.of(untargeted, other));
        assertTrue(explained.get(0).message().contains("TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']"));
        assertEquals(other, explained.get(1));
    }
}
