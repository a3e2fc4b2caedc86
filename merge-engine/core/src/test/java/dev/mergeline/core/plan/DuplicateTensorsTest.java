package dev.mergeline.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.AdapterConfigParser;
import dev.mergeline.core.run.LocalInputs;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link MergePlanner} never keeps one of two tensors that claim the same name: a repeated base or
 * adapter name, or one LoRA tensor under two spellings, is a rejection naming the tensor.
 */
class DuplicateTensorsTest {
    private static final String EMBED = "model.embed_tokens.weight";
    private static final String LORA_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";

    private MergeInputs inputs;
    private AdapterConfig config;
    private ModelConfig model;

    @BeforeEach
    void read() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llama-bf16-plain");
        try (LocalInputs in = LocalInputs.open(caseDir.resolve("base"), caseDir.resolve("adapter"))) {
            inputs = in.inputs();
        }
        config = new AdapterConfigParser().parse(inputs.adapterConfigJson());
        model = ModelConfig.parse(inputs.baseConfigJson(), new ObjectMapper());
    }

    @Test
    void unchangedInputsArePlanned() throws Exception {
        assertEquals(14, plan(inputs.baseTensors(), inputs.adapterHeader().tensors()).counts().merged());
    }

    @Test
    void aBaseTensorListedTwiceIsRejected() {
        List<TensorInfo> base = new ArrayList<>(inputs.baseTensors());
        TensorInfo embed = base.stream().filter(t -> t.name().equals(EMBED)).findFirst().orElseThrow();
        base.add(new TensorInfo(EMBED, embed.dtype(), List.of(embed.shape().get(0), 3L), 0, 0));
        assertDuplicate(EMBED, base, inputs.adapterHeader().tensors());
    }

    @Test
    void anAdapterTensorListedTwiceIsRejected() {
        List<TensorInfo> adapter = new ArrayList<>(inputs.adapterHeader().tensors());
        adapter.add(find(adapter, LORA_A));
        assertDuplicate(LORA_A, inputs.baseTensors(), adapter);
    }

    @Test
    void oneLoraTensorUnderTwoSpellingsIsRejected() {
        List<TensorInfo> adapter = new ArrayList<>(inputs.adapterHeader().tensors());
        TensorInfo a = find(adapter, LORA_A);
        String named = LORA_A.replace(".lora_A.weight", ".lora_A.default.weight");
        adapter.add(new TensorInfo(named, a.dtype(), a.shape(), 0, a.byteLength()));
        assertDuplicate(named, inputs.baseTensors(), adapter);
    }

    @Test
    void oneFullTensorUnderTwoSpellingsIsPeftsOwnAndTheSavedCopyWins() throws Exception {
        // PEFT saves a modules_to_save copy beside a plain one; it loads the copy: not a duplicate.
        List<TensorInfo> adapter = new ArrayList<>(inputs.adapterHeader().tensors());
        TensorInfo embed = find(inputs.baseTensors(), EMBED);
        String plain = "base_model.model." + EMBED;
        String saved = "base_model.model.model.embed_tokens.modules_to_save.default.weight";
        adapter.add(new TensorInfo(plain, embed.dtype(), embed.shape(), 0, embed.byteLength()));
        adapter.add(new TensorInfo(saved, embed.dtype(), embed.shape(), 0, embed.byteLength()));
        MergePlan plan = plan(inputs.baseTensors(), adapter);
        TensorOp op = plan.tensors().stream().filter(t -> t.name().equals(EMBED)).findFirst().orElseThrow().op();
        assertEquals(TensorSource.adapter(saved), op.source());
    }

    private void assertDuplicate(String tensor, List<TensorInfo> base, List<TensorInfo> adapter) {
        RejectedException e = assertThrows(RejectedException.class, () -> plan(base, adapter));
        List<Reason> duplicates = e.reasons().stream().filter(r -> r.code() == ReasonCode.SAFETENSORS_HEADER_INVALID)
                .toList();
        assertEquals(1, duplicates.size(), e.reasons()::toString);
        assertEquals(tensor, duplicates.get(0).tensor());
        assertEquals("DUPLICATE_KEY", duplicates.get(0).detail());
    }

    private MergePlan plan(List<TensorInfo> base, List<TensorInfo> adapter) throws RejectedException {
        return new MergePlanner().plan(config, adapter, model, base, Optional.empty());
    }

    private static TensorInfo find(List<TensorInfo> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }
}
