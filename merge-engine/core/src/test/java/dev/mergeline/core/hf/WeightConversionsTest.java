package dev.mergeline.core.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The conversion rules data file and transformers' way of applying it. Expected names are those transformers
 * 5.17's own {@code rename_source_key} gives for the same keys with the conversion list
 * {@code get_model_conversion_mapping} assembles for each class.
 */
class WeightConversionsTest {

    @Test
    void dataFileIsExactlyWhatTheGeneratorWrote() throws Exception {
        byte[] data;
        String recorded;
        try (InputStream in = WeightConversions.class.getResourceAsStream(WeightConversions.RESOURCE);
                InputStream sha = WeightConversions.class.getResourceAsStream("weight_conversions.sha256")) {
            data = in.readAllBytes();
            recorded = new String(sha.readAllBytes(), StandardCharsets.UTF_8).split("\\s+")[0];
        }
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        assertEquals(recorded, actual, "weight_conversions.json was changed without regenerating it with "
                + "merge-engine/fixtures/generate_weight_conversions.py");
        assertEquals("transformers 5.17.0 conversion_mapping.py", WeightConversions.pinned().source());
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "gemma3, Gemma3ForConditionalGeneration, language_model.model.layers.0.self_attn.q_proj.weight, model.language_model.layers.0.self_attn.q_proj.weight, -1",
        "gemma3, Gemma3ForConditionalGeneration, language_model.lm_head.weight, lm_head.weight, -1",
        "gemma3, Gemma3ForConditionalGeneration, vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight, model.vision_tower.encoder.layers.0.self_attn.q_proj.weight, -1",
        "gemma3, Gemma3ForConditionalGeneration, multi_modal_projector.mm_input_projection_weight, model.multi_modal_projector.mm_input_projection_weight, -1",
        "llava, LlavaForConditionalGeneration, language_model.model.layers.1.mlp.down_proj.weight, model.language_model.layers.1.mlp.down_proj.weight, -1",
        "llava, LlavaForConditionalGeneration, vision_tower.encoder.layers.0.mlp.fc1.weight, model.vision_tower.encoder.layers.0.mlp.fc1.weight, -1",
        "qwen2_5_vl, Qwen2_5_VLForConditionalGeneration, model.layers.0.self_attn.q_proj.weight, model.language_model.layers.0.self_attn.q_proj.weight, -1",
        "qwen2_5_vl, Qwen2_5_VLForConditionalGeneration, visual.blocks.0.attn.qkv.weight, model.visual.blocks.0.attn.qkv.weight, -1",
        "qwen2_5_vl, Qwen2_5_VLForConditionalGeneration, lm_head.weight, lm_head.weight, -1",
        "qwen2_5_vl, Qwen2_5_VLForConditionalGeneration, model.embed_tokens.weight, model.language_model.embed_tokens.weight, -1",
        "mixtral, MixtralForCausalLM, model.layers.0.block_sparse_moe.experts.3.w3.weight, model.layers.0.mlp.experts.gate_up_proj, 1",
        "mixtral, MixtralForCausalLM, model.layers.0.block_sparse_moe.gate.weight, model.layers.0.mlp.gate.weight, -1",
        "mixtral, MixtralForCausalLM, model.layers.0.block_sparse_moe.experts.1.w2.weight, model.layers.0.mlp.experts.down_proj, 0",
        "qwen3_moe, Qwen3MoeForCausalLM, model.layers.0.mlp.experts.5.up_proj.weight, model.layers.0.mlp.experts.gate_up_proj, 1",
        "qwen3_moe, Qwen3MoeForCausalLM, model.layers.0.mlp.gate.weight, model.layers.0.mlp.gate.weight, -1",
        // an architecture the generator could not build falls back to its model_type's list (aliases expanded)
        "deepseek_v3, NoSuchClassForCausalLM, model.layers.3.mlp.experts.7.gate_proj.weight, model.layers.3.mlp.experts.gate_up_proj, 0",
    })
    void onDiskNamesBecomeTransformersInMemoryNames(String modelType, String architecture, String disk, String memory,
            int sourceIndex) throws Exception {
        ConversionRules rules = WeightConversions.pinned().rulesFor(config(modelType, architecture)).orElseThrow();
        ConversionRules.MemoryName m = rules.toMemory(disk);
        assertEquals(memory, m.memoryName());
        assertEquals(sourceIndex, m.sourceIndex());
        assertEquals(sourceIndex >= 0, m.converter().isPresent());
    }

    @Test
    void convertersCarryTheirOperationsInOrder() throws Exception {
        ConversionRules rules = WeightConversions.pinned().rulesFor(config("mixtral", "MixtralForCausalLM")).orElseThrow();
        WeightTransform gateUp = rules.toMemory("model.layers.0.block_sparse_moe.experts.0.w1.weight").converter().orElseThrow();
        assertEquals(2, gateUp.sources().size());
        assertTrue(gateUp.sources().get(0).contains("w1") && gateUp.sources().get(1).contains("w3"), "gate first, then up");
        assertEquals("MergeModulelist", gateUp.operations().get(0).op());
        assertEquals(0, gateUp.operations().get(0).dim());
        assertEquals("Concatenate", gateUp.operations().get(1).op());
        assertEquals(1, gateUp.operations().get(1).dim());
    }

    @Test
    void modelsWithOneNamingHaveNoRules() throws Exception {
        assertEquals(Optional.empty(), WeightConversions.pinned().rulesFor(config("llama", "LlamaForCausalLM")));
        assertEquals(Optional.empty(), WeightConversions.pinned().rulesFor(config("idefics2", "Idefics2ForConditionalGeneration")));
    }

    static ModelConfig config(String modelType, String architecture) throws Exception {
        String json = "{\"model_type\": \"" + modelType + "\", \"architectures\": [\"" + architecture + "\"]}";
        return ModelConfig.parse(json.getBytes(StandardCharsets.UTF_8), new ObjectMapper());
    }
}
