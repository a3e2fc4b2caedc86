package dev.mergeline.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.run.MergeOptions;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tied embeddings on the Qwen2 fixture whose base is tied and stores no {@code lm_head.weight}:
 * changed together they stay tied (pinned against PEFT by the parity tests); made to differ they
 * are untied explicitly.
 */
class TiedEmbeddingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String EMBED = "model.embed_tokens.weight";
    private MergeInputs tied;

    @BeforeEach
    void load() throws Exception {
        var caseDir = PeftFixtures.caseDir("qwen2-tied-plain");
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            tied = in.inputs();
        }
        assertTrue(tied.baseTensors().stream().noneMatch(t -> t.name().equals("lm_head.weight")));
    }

    @Test
    void untouchedTiedEmbeddingsStayTied() throws Exception {
        MergePlan plan = new Validator().validate(tied, MergeOptions.defaults());
        assertTrue(plan.outputConfig().path("tie_word_embeddings").asBoolean());
        assertFalse(names(plan).contains("lm_head.weight"));
    }

    @Test
    void replacedOutputEmbeddingUntiesThem() throws Exception {
        MergePlan plan = plan(withFullTensor("lm_head", "base_model.model.lm_head.weight"));
        assertFalse(plan.outputConfig().path("tie_word_embeddings").asBoolean(true));
        PlannedTensor head = find(plan, "lm_head.weight");
        assertEquals(TensorSource.adapter("base_model.model.lm_head.weight"), head.op().source());
        assertEquals(TensorSource.base(EMBED), find(plan, EMBED).op().source());
        assertTrue(plan.notes().stream().anyMatch(n -> n.startsWith("untied embeddings")));
    }

    @Test
    void replacedInputEmbeddingKeepsTheOriginalAsOutputAndUnties() throws Exception {
        MergePlan plan = plan(withFullTensor("embed_tokens", "base_model.model.model.embed_tokens.weight"));
        assertFalse(plan.outputConfig().path("tie_word_embeddings").asBoolean(true));
        assertEquals(TensorSource.adapter("base_model.model.model.embed_tokens.weight"), find(plan, EMBED).op().source());
        PlannedTensor head = find(plan, "lm_head.weight");
        assertInstanceOf(TensorOp.Copy.class, head.op());
        assertEquals(TensorSource.base(EMBED), head.op().source(), "lm_head keeps the original shared weight");
    }

    @Test
    void loraOnATiedOutputEmbeddingIsRefused() throws Exception {
        List<TensorInfo> base = new ArrayList<>(tied.baseTensors());
        TensorInfo embed = base.stream().filter(t -> t.name().equals(EMBED)).findFirst().orElseThrow();
        base.add(new TensorInfo("lm_head.weight", embed.dtype(), embed.shape(), 0, embed.byteLength()));
        ObjectNode config = (ObjectNode) JSON.readTree(tied.adapterConfigJson());
        config.putArray("target_modules").add("q_proj").add("k_proj").add("v_proj").add("o_proj").add("lm_head");
        List<TensorInfo> adapter = new ArrayList<>(tied.adapterHeader().tensors());
        long r = config.path("r").asLong();
        adapter.add(new TensorInfo("base_model.model.lm_head.lora_A.weight", embed.dtype(), List.of(r, embed.shape().get(1)), 0, 0));
        adapter.add(new TensorInfo("base_model.model.lm_head.lora_B.weight", embed.dtype(), List.of(embed.shape().get(0), r), 0, 0));
        MergeInputs in = new MergeInputs(JSON.writeValueAsBytes(config), header(adapter), tied.baseConfigJson(), base);
        RejectedException e = assertThrows(RejectedException.class, () -> plan(in));
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, e.reasons().get(0).code());
        assertEquals("lm_head.weight", e.reasons().get(0).tensor());
    }

    private MergeInputs withFullTensor(String module, String tensor) throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(tied.adapterConfigJson());
        config.putArray("modules_to_save").add(module);
        TensorInfo embed = tied.baseTensors().stream().filter(t -> t.name().equals(EMBED)).findFirst().orElseThrow();
        List<TensorInfo> adapter = new ArrayList<>(tied.adapterHeader().tensors());
        adapter.add(new TensorInfo(tensor, embed.dtype(), embed.shape(), 0, embed.byteLength()));
        return new MergeInputs(JSON.writeValueAsBytes(config), header(adapter), tied.baseConfigJson(), tied.baseTensors());
    }

    private SafetensorsHeader header(List<TensorInfo> tensors) {
        SafetensorsHeader h = tied.adapterHeader();
        return new SafetensorsHeader(h.headerLength(), h.metadata(), tensors);
    }

    private static MergePlan plan(MergeInputs in) throws RejectedException {
        return new Validator().validate(in, MergeOptions.defaults());
    }

    private static List<String> names(MergePlan plan) {
        return plan.tensors().stream().map(PlannedTensor::name).toList();
    }

    private static PlannedTensor find(MergePlan plan, String name) {
        return plan.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }
}
