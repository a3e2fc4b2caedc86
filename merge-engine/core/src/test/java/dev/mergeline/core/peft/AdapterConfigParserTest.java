package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** PEFT's config semantics, and the hostile values the parser must refuse rather than choke on. */
class AdapterConfigParserTest {
    /** Shared by the matches of one test, as by those of one plan. */
    private final RegexBudget budget = RegexBudget.perValidation();
    private final AdapterConfigParser parser = new AdapterConfigParser();

    private AdapterConfig parse(String json) throws RejectedException {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private ReasonCode reject(String json) {
        return assertThrows(RejectedException.class, () -> parse(json)).reasons().get(0).code();
    }

    @Test
    void realCorpusConfigParsesWithImplicitClassifierHeads() throws Exception {
        Path corpus = PeftFixtures.corpusAdapter("bert-seqcls-lora");
        AdapterConfig c = parser.parse(Files.readAllBytes(corpus.resolve("adapter_config.json")));
        assertEquals(8, c.r());
        assertEquals(4.0f, c.scalingFor("bert.encoder.layer.0.attention.self.query", budget));
        assertTrue(c.targets("bert.encoder.layer.3.attention.self.value", budget));
        assertFalse(c.targets("bert.encoder.layer.3.attention.self.key", budget));
        assertTrue(c.isModuleToSave("classifier"));
        assertFalse(c.targets("classifier", budget));
    }

    @Test
    void malformedUtf8InANestedNameIsRefusedWhateverTheParserReadBefore() throws Exception {
        String valid = "{\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\"],\"auto_mapping\":{\"parent_library\":\"x\"}}";
        parser.parse(valid.getBytes(StandardCharsets.UTF_8));
        byte[] malformed = valid.replace("parent_library", "parent_libra?y").getBytes(StandardCharsets.UTF_8);
        malformed[valid.indexOf("parent_library") + "parent_libra".length()] = (byte) 0xff;
        RejectedException e = assertThrows(RejectedException.class, () -> parser.parse(malformed));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, e.reasons().get(0).code());
        assertTrue(e.reasons().get(0).message().contains("malformed byte 0xff at offset "
                + (valid.indexOf("parent_library") + "parent_libra".length())), e::getMessage);
    }

    @Test
    void rankAndAlphaPatternsUseTheFirstMatchingKey() throws Exception {
        AdapterConfig c = parse("""
                {"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"],
                 "rank_pattern":{"layers.1.self_attn.q_proj":2,"q_proj":4},"alpha_pattern":{"v_proj":3}}""");
        assertEquals(2, c.rankFor("model.layers.1.self_attn.q_proj", budget));
        assertEquals(4, c.rankFor("model.layers.0.self_attn.q_proj", budget));
        assertEquals(8, c.rankFor("model.layers.0.self_attn.v_proj", budget));
        assertEquals(3.0f / 8, c.scalingFor("model.layers.0.self_attn.v_proj", budget));
        assertEquals(8, c.rankFor("model.layers.0.self_attn.xq_proj", budget), "keys match whole segments");
    }

    @Test
    void rsloraScalesByTheSquareRootRoundedToFp32() throws Exception {
        AdapterConfig c = parse("""
                {"peft_type":"LORA","r":6,"lora_alpha":7,"use_rslora":true,"target_modules":["q_proj"]}""");
        assertEquals((float) (7 / Math.sqrt(6)), c.scalingFor("a.q_proj", budget));
    }

    @Test
    void layersToTransformPicksTheFirstNumberedSegment() throws Exception {
        AdapterConfig c = parse("""
                {"peft_type":"LORA","r":8,"target_modules":["q_proj"],"layers_to_transform":[1],"layers_pattern":"layers"}""");
        assertTrue(c.targets("model.layers.1.self_attn.q_proj", budget));
        assertFalse(c.targets("model.layers.0.self_attn.q_proj", budget));
    }

    @Test
    void regexTargetsFullMatchAndExcludesWin() throws Exception {
        AdapterConfig c = parse("""
                {"peft_type":"LORA","r":8,"target_modules":".*\\\\.(q_proj|v_proj)$","exclude_modules":["layers.0.self_attn.q_proj"]}""");
        assertTrue(c.targets("model.layers.1.self_attn.q_proj", budget));
        assertFalse(c.targets("model.layers.0.self_attn.q_proj", budget));
        assertFalse(c.targets("model.layers.1.self_attn.k_proj", budget));
    }

    @Test
    void hostileValuesAreConfigErrors() {
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"r\":-1}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"r\":2147483648}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"lora_alpha\":NaN}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"lora_alpha\":Infinity}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"r\":\"8\"}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"r\":8,\"r\":9}"));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("[" .repeat(10_000)));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, reject("{\"peft_type\":\"LORA\",\"target_modules\":\"(\"}"));
        assertEquals(ReasonCode.PEFT_TYPE_UNSUPPORTED, reject("{\"peft_type\":\"VERA\"}"));
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, reject("{\"peft_type\":\"LORA\",\"layer_replication\":[[0,2]]}"));
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, reject("{\"peft_type\":\"LORA\",\"init_lora_weights\":\"olora\"}"));
    }

    @Test
    void aLayersPatternThatIsNoRegexIsAConfigError() {
        // Was accepted, then failed every targets() call with PatternSyntaxException (found by AdapterConfigFuzzTest).
        RejectedException e = assertThrows(RejectedException.class, () -> parse("""
                {"peft_type":"LORA","r":8,"target_modules":["q_proj"],"layers_to_transform":[0],"layers_pattern":"("}"""));
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, e.reasons().get(0).code());
        assertEquals("layers_pattern", e.reasons().get(0).detail());
    }

    @Test
    void layerNumbersBeyondIntAreNoLayerOfLayersToTransform() throws Exception {
        // A hostile tensor name used to fail targets() with NumberFormatException (found by AdapterConfigFuzzTest).
        for (String pattern : new String[] {"", ",\"layers_pattern\":\"layers\""}) {
            AdapterConfig c = parse("{\"peft_type\":\"LORA\",\"r\":8,\"target_modules\":[\"q_proj\"],"
                    + "\"layers_to_transform\":[0, 2147483647]" + pattern + "}");
            assertFalse(c.targets("model.layers.99999999999999999999.self_attn.q_proj", budget));
            assertFalse(c.targets("model.layers.2147483648.self_attn.q_proj", budget));
            assertTrue(c.targets("model.layers.2147483647.self_attn.q_proj", budget));
            assertTrue(c.targets("model.layers.000.self_attn.q_proj", budget));
        }
    }

    @Test
    void catastrophicBacktrackingIsBoundedNotHung() throws Exception {
        AdapterConfig c = parse("{\"peft_type\":\"LORA\",\"r\":8,\"target_modules\":\"(.*a){20}$\"}");
        String evil = "a".repeat(30) + "!";
        long start = System.nanoTime();
        assertThrows(PythonRegex.RegexBudgetExceededException.class, () -> c.targets(evil, budget));
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "the step budget must stop the match");
    }
}
