package dev.mergeline.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfigParser;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.testing.Fp8Fixtures;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What {@link MergePlanner} plans for an FP8 block-scaled base, from the headers of {@code llama-fp8-block}. */
class Fp8PlanningTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String Q = "model.layers.0.self_attn.q_proj.weight";
    private static final String K = "model.layers.0.self_attn.k_proj.weight";

    private MergeInputs inputs;
    private ModelConfig model;

    @BeforeEach
    void read() throws Exception {
        Path caseDir = Fp8Fixtures.caseDir("llama-fp8-block");
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            inputs = in.inputs();
        }
        model = ModelConfig.parse(inputs.baseConfigJson(), JSON);
    }

    private MergePlan plan(byte[] adapterConfig, List<TensorInfo> adapter, Optional<DType> dtype) throws Exception {
        return new MergePlanner().plan(new AdapterConfigParser().parse(adapterConfig), adapter, model,
                inputs.baseTensors(), dtype);
    }

    private static PlannedTensor find(MergePlan plan, String name) {
        return plan.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void mergedWeightIsRequantizedWithItsScalesRightAfterItAndUntouchedOnesAreCopied() throws Exception {
        MergePlan plan = plan(inputs.adapterConfigJson(), inputs.adapterHeader().tensors(), Optional.empty());
        PlannedTensor q = find(plan, Q);
        assertEquals(DType.F8_E4M3, q.dtype());
        TensorOp.Fp8Block block = assertInstanceOf(TensorOp.Fp8Block.class, q.op());
        assertInstanceOf(TensorOp.LowRank.class, block.unwrapped());
        assertEquals(List.of(16, 16, DType.BF16), List.of(block.blockRows(), block.blockCols(), block.workType()));
        PlannedTensor next = plan.tensors().get(plan.tensors().indexOf(q) + 1);
        assertEquals(Q + "_scale_inv", next.name());
        assertEquals(new TensorOp.Fp8Scales(TensorSource.base(Q + "_scale_inv"), Q), next.op());
        assertEquals(new TensorOp.Copy(TensorSource.base(K)), find(plan, K).op());
        assertEquals(new TensorOp.Copy(TensorSource.base(K + "_scale_inv")), find(plan, K + "_scale_inv").op());
        assertTrue(plan.outputConfig().has("quantization_config"));
        assertEquals(6, plan.counts().merged());
    }

    @Test
    void dequantizedPlanDropsScalesAndQuantizationConfig() throws Exception {
        MergePlan plan = plan(inputs.adapterConfigJson(), inputs.adapterHeader().tensors(), Optional.of(DType.BF16));
        assertFalse(plan.tensors().stream().anyMatch(t -> t.name().endsWith("_scale_inv")));
        assertTrue(plan.tensors().stream().allMatch(t -> t.dtype() == DType.BF16));
        assertInstanceOf(TensorOp.Copy.class, ((TensorOp.Fp8Block) find(plan, K).op()).unwrapped());
        assertFalse(plan.outputConfig().has("quantization_config"));
    }

    /** modules_to_save on a quantized Linear: the saved bf16 copy would have to be quantized, which PEFT never does. */
    @Test
    void wholeReplacementOfAnFp8WeightIsRefused() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(inputs.adapterConfigJson());
        config.putArray("modules_to_save").add("k_proj");
        List<TensorInfo> adapter = new ArrayList<>(inputs.adapterHeader().tensors());
        adapter.add(new TensorInfo("base_model.model.model.layers.0.self_attn.k_proj.modules_to_save.default.weight",
                DType.BF16, List.of(16L, 32L), 0, 1024));
        RejectedException e = assertThrows(RejectedException.class,
                () -> plan(JSON.writeValueAsBytes(config), adapter, Optional.empty()));
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, e.reasons().get(0).code(), e.reasons()::toString);
        assertEquals(K, e.reasons().get(0).tensor());
    }

    /** An FP8 Mixtral (experts stored per expert, block-scaled) and a LoRA on its fused experts through target_parameters. */
    @Test
    void targetParametersOnFp8ExpertWeightsAreRefusedNamingTheWeight() throws Exception {
        Path caseDir = dev.mergeline.core.testing.PeftFixtures.caseDir("mixtral-experts");
        MergeInputs moe;
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            moe = in.inputs();
        }
        ObjectNode config = (ObjectNode) JSON.readTree(moe.baseConfigJson());
        config.putObject("quantization_config").put("quant_method", "fp8").put("fmt", "e4m3")
                .put("activation_scheme", "dynamic").putArray("weight_block_size").add(16).add(16);
        List<TensorInfo> fp8Base = new ArrayList<>();
        for (TensorInfo t : moe.baseTensors()) {
            if (t.name().contains(".experts.") && t.name().endsWith(".weight")) {
                long rows = t.shape().get(0);
                long cols = t.shape().get(1);
                fp8Base.add(new TensorInfo(t.name(), DType.F8_E4M3, t.shape(), 0, rows * cols));
                fp8Base.add(new TensorInfo(t.name() + "_scale_inv", DType.F32,
                        List.of((rows + 15) / 16, (cols + 15) / 16), 0, (rows + 15) / 16 * ((cols + 15) / 16) * 4));
            } else {
                fp8Base.add(t);
            }
        }
        RejectedException e = assertThrows(RejectedException.class, () -> new MergePlanner().plan(
                new AdapterConfigParser().parse(moe.adapterConfigJson()), moe.adapterHeader().tensors(),
                ModelConfig.parse(JSON.writeValueAsBytes(config), JSON), fp8Base, Optional.empty()));
        assertFalse(e.reasons().isEmpty());
        for (var r : e.reasons()) {
            assertEquals(ReasonCode.BASE_QUANTIZED, r.code(), e.reasons()::toString);
            assertEquals("FP8_TARGET_PARAMETERS", r.detail());
            assertTrue(r.tensor().matches("model\\.layers\\.\\d\\.block_sparse_moe\\.experts\\.\\d\\.w[123]\\.weight"), r::toString);
        }
    }
}
