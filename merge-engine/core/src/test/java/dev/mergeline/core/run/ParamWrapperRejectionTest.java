package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How LoRA on parameters (target_parameters, PEFT's ParamWrapper) is refused when it cannot be merged as PEFT does. */
class ParamWrapperRejectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Predicate<String> LAYER_0_W2 = n -> n.startsWith("model.layers.0.") && n.endsWith(".w2.weight");

    @TempDir
    Path tmp;

    private static MergeInputs inputs(String fixture) throws Exception {
        Path caseDir = PeftFixtures.caseDir(fixture);
        try (LocalInputs local = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            return local.inputs();
        }
    }

    /** {@code inputs} with the base tensors whose names match given {@code shape} (same dtype and offset). */
    private static MergeInputs reshaped(MergeInputs inputs, Predicate<String> names, List<Long> shape) {
        long elements = shape.stream().reduce(1L, Math::multiplyExact);
        List<TensorInfo> base = inputs.baseTensors().stream().map(t -> !names.test(t.name()) ? t
                : new TensorInfo(t.name(), t.dtype(), shape, t.dataOffset(), elements * t.dtype().byteSize())).toList();
        return new MergeInputs(inputs.adapterConfigJson(), inputs.adapterHeader(), inputs.baseConfigJson(), base);
    }

    private static RejectedException rejected(MergeInputs inputs) {
        return assertThrows(RejectedException.class, () -> new Validator().validate(inputs, MergeOptions.defaults()));
    }

    @Test
    void fusedExpertsWithoutAConverterRuleNameTheModuleTheTensorsAndTheMissingRule() throws Exception {
        Path caseDir = PeftFixtures.caseDir("mixtral-experts");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        config.put("model_type", "tiny_moe");
        config.putArray("architectures").add("TinyMoeForCausalLM");
        JSON.writeValue(base.resolve("config.json").toFile(), config);

        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(base, caseDir.resolve("adapter"), MergeOptions.defaults()));

        Reason experts = e.reasons().stream().filter(r -> "model.layers.0.mlp.experts".equals(r.tensor())).findFirst()
                .orElseThrow(() -> new AssertionError(e.reasons().toString()));
        assertEquals(ReasonCode.TARGET_MODULE_NOT_FOUND, experts.code());
        assertTrue(experts.message().contains("the base has model.layers.0.block_sparse_moe.experts.0.w1.weight"),
                experts.message());
        assertTrue(experts.message().contains("has no rule for architecture TinyMoeForCausalLM / model_type tiny_moe"),
                experts.message());
        assertEquals(2, e.reasons().size(), e.reasons()::toString); // one per layer
    }

    @Test
    void factorsThatFitNoTargetedParameterAreAShapeMismatchWithExpectedAndActual() throws Exception {
        // Layer 0's experts shrink from intermediate 24 to 20: down_proj's lora_A [8, 24] no longer fits.
        RejectedException e = rejected(reshaped(inputs("mixtral-experts"), LAYER_0_W2, List.of(32L, 20L)));

        assertEquals(1, e.reasons().size(), e.reasons()::toString);
        Reason r = e.reasons().get(0);
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals("base_model.model.model.layers.0.mlp.experts.lora_A.weight", r.tensor());
        assertTrue(r.expected().contains("model.layers.0.mlp.experts.down_proj [4, 32, 20]: lora_A [r·4, 20], lora_B [32, r·4]"),
                r.expected());
        assertEquals("[[8, 24], [32, 8]]", r.actual());
    }

    /**
     * PEFT 0.21 loads a per-expert adapter for deepseek_v3 by rewriting target_modules gate_proj/up_proj/down_proj
     * into the fused experts' target_parameters; the dense first layer's and the shared expert's projections carry
     * the same names but are no such parameter, so PEFT leaves their LoRA weights unmerged.
     */
    @Test
    void legacyLoraOnDenseAndSharedProjectionsThatPeftRetargetsIsRefused() throws Exception {
        MergeInputs inputs = inputs("deepseek_v3-experts-router");
        List<TensorInfo> factors = new java.util.ArrayList<>();
        long offset = 0;
        for (TensorInfo t : inputs.baseTensors()) {
            if (t.name().matches(".*\\.(gate_proj|up_proj|down_proj)\\.weight")) {
                String module = "base_model.model." + t.name().substring(0, t.name().length() - ".weight".length());
                TensorInfo a = new TensorInfo(module + ".lora_A.weight", DType.F32, List.of(4L, t.shape().get(1)),
                        offset, 16L * t.shape().get(1));
                offset += a.byteLength();
                TensorInfo b = new TensorInfo(module + ".lora_B.weight", DType.F32, List.of(t.shape().get(0), 4L),
                        offset, 16L * t.shape().get(0));
                offset += b.byteLength();
                factors.add(a);
                factors.add(b);
            }
        }
        ObjectNode config = (ObjectNode) JSON.readTree(inputs.adapterConfigJson());
        config.putArray("target_modules").add("gate_proj").add("up_proj").add("down_proj");
        config.putNull("target_parameters");
        MergeInputs legacy = new MergeInputs(JSON.writeValueAsBytes(config),
                new SafetensorsHeader(64, java.util.Map.of(), factors), inputs.baseConfigJson(), inputs.baseTensors());

        RejectedException e = rejected(legacy);

        assertTrue(e.reasons().stream().allMatch(r -> r.code() == ReasonCode.PEFT_VARIANT_UNSUPPORTED), e.reasons()::toString);
        assertEquals(List.of("model.layers.0.mlp.down_proj", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj",
                "model.layers.1.mlp.shared_experts.down_proj", "model.layers.1.mlp.shared_experts.gate_proj",
                "model.layers.1.mlp.shared_experts.up_proj"), e.reasons().stream().map(Reason::tensor).sorted().toList());
        assertTrue(e.reasons().get(0).message().contains("into target_parameters"), e.reasons().get(0).message());
    }

    /**
     * Qwen3-VL-MoE checkpoints from before transformers 5 store gate_up_proj as [E, hidden, 2I]; transformers
     * transposes it on loading and save_pretrained writes [E, 2I, hidden], a shape the merged output would not keep.
     */
    @Test
    void aFusedTensorInTheLayoutTransformersTransposesIsRefusedWithBothShapes() throws Exception {
        String fused = "model.language_model.layers.1.mlp.experts.gate_up_proj";
        RejectedException e = rejected(reshaped(inputs("qwen3_vl_moe-experts"), fused::equals, List.of(4L, 32L, 48L)));

        assertEquals(1, e.reasons().size(), e.reasons()::toString);
        Reason r = e.reasons().get(0);
        assertEquals(ReasonCode.TENSOR_SHAPE_MISMATCH, r.code());
        assertEquals(fused, r.tensor());
        assertEquals("[4, 48, 32]", r.expected());
        assertEquals("[4, 32, 48]", r.actual());
        assertTrue(r.message().contains("save_pretrained writes back in the parameter's layout"), r.message());
    }

    @Test
    void factorsThatFitTwoTargetedParametersAlikeAreRefused() throws Exception {
        // Layer 0's w2 grows to [48, 32]: down_proj becomes [4, 48, 32] like gate_up_proj.
        RejectedException e = rejected(reshaped(inputs("mixtral-experts"), LAYER_0_W2, List.of(48L, 32L)));

        Reason ambiguous = e.reasons().stream().filter(r -> r.code() == ReasonCode.PEFT_VARIANT_UNSUPPORTED)
                .findFirst().orElseThrow(() -> new AssertionError(e.reasons().toString()));
        assertEquals("base_model.model.model.layers.0.mlp.experts.base_layer.lora_A.weight", ambiguous.tensor());
        assertTrue(ambiguous.message().contains("[model.layers.0.mlp.experts.gate_up_proj, "
                + "model.layers.0.mlp.experts.down_proj] alike"), ambiguous.message());
    }

    @Test
    void doraOnParametersIsRefusedAsPeftRefusesIt() throws Exception {
        Path caseDir = PeftFixtures.caseDir("mixtral-experts");
        Path adapter = PeftFixtures.copyDir(caseDir.resolve("adapter"), tmp.resolve("adapter"));
        ObjectNode config = (ObjectNode) JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        config.put("use_dora", true);
        JSON.writeValue(adapter.resolve("adapter_config.json").toFile(), config);

        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(caseDir.resolve("base"), adapter, MergeOptions.defaults()));

        assertEquals(1, e.reasons().size(), e.reasons()::toString);
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, e.reasons().get(0).code());
        assertEquals("use_dora", e.reasons().get(0).detail());
        assertTrue(e.reasons().get(0).message().contains("ParamWrapper does not work with use_dora=True"));
    }

    @Test
    void aTargetedParameterWithoutFactorsIsMissingKeys() throws Exception {
        Path caseDir = PeftFixtures.caseDir("mixtral-attention-router");
        Path adapter = PeftFixtures.copyDir(caseDir.resolve("adapter"), tmp.resolve("adapter"));
        ObjectNode config = (ObjectNode) JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        config.putArray("target_parameters").add("gate.weight").add("experts.down_proj");
        JSON.writeValue(adapter.resolve("adapter_config.json").toFile(), config);

        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(caseDir.resolve("base"), adapter, MergeOptions.defaults()));

        assertTrue(e.reasons().stream().allMatch(r -> r.code() == ReasonCode.ADAPTER_KEYS_MISSING), e.reasons()::toString);
        assertEquals(List.of("model.layers.0.mlp.experts.down_proj", "model.layers.1.mlp.experts.down_proj"),
                e.reasons().stream().map(Reason::tensor).toList());
    }
}
