package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a PEFT adapter named in memory is matched to, or refused by, a base checkpoint named on disk. */
class NamingRejectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void llavaAdapterResolvesThroughTransformersRulesAndSaysSo() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llava-qv-projector");
        MergePlan plan = new OfflineMerger(new ReferenceMergeKernel())
                .validate(caseDir.resolve("base"), caseDir.resolve("adapter"), MergeOptions.defaults());
        assertTrue(plan.notes().stream().anyMatch(n -> n.contains(
                "transformers' conversion rules of LlavaForConditionalGeneration")), plan.notes()::toString);
        assertTrue(plan.tensors().stream().anyMatch(t -> t.name().equals("language_model.model.layers.0.self_attn.q_proj.weight")
                && t.op() instanceof dev.mergeline.core.plan.TensorOp.LowRank), "merged under the on-disk name");
    }

    @Test
    void aModelWithoutRulesIsRefusedPerModuleNamingTheTensorsAndTheMissingRule() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llava-qv-projector");
        Path base = PeftFixtures.copyDir(caseDir.resolve("base"), tmp.resolve("base"));
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        config.put("model_type", "tiny_vlm");
        config.putArray("architectures").add("TinyVlmForConditionalGeneration");
        JSON.writeValue(base.resolve("config.json").toFile(), config);

        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(base, caseDir.resolve("adapter"), MergeOptions.defaults()));

        List<Reason> notFound = e.reasons().stream().filter(r -> r.code() == ReasonCode.TARGET_MODULE_NOT_FOUND).toList();
        assertEquals(4, notFound.size(), e.reasons()::toString); // q and v of 2 layers; the projector resolves by prefix
        Reason q = notFound.stream().filter(r -> r.tensor().equals("model.language_model.layers.0.self_attn.q_proj"))
                .findFirst().orElseThrow(() -> new AssertionError(e.reasons().toString()));
        assertTrue(q.message().contains("the base has language_model.model.layers.0.self_attn.q_proj.weight"), q.message());
        assertTrue(q.message().contains("has no rule for architecture TinyVlmForConditionalGeneration / model_type tiny_vlm"),
                q.message());
    }

    @Test
    void anAdapterMatchingNoNamingOfTheBaseIsAnArchitectureMismatch() throws Exception {
        Path caseDir = PeftFixtures.caseDir("llava-qv-projector");
        RejectedException e = assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(PeftFixtures.caseDir("gpt2-conv1d").resolve("base"), caseDir.resolve("adapter"),
                        MergeOptions.defaults()));
        assertEquals(ReasonCode.ARCHITECTURE_MISMATCH, e.reasons().get(0).code(), e.reasons()::toString);
    }
}
