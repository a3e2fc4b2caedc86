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
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-expert adapters that PEFT 0.21 cannot convert onto transformers 5's fused experts are refused as PEFT refuses them. */
class LegacyExpertsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private RejectedException rejectWithConfig(Consumer<ObjectNode> change) throws Exception {
        Path caseDir = PeftFixtures.caseDir("mixtral-legacy-per-expert");
        Path adapter = PeftFixtures.copyDir(caseDir.resolve("adapter"), tmp.resolve("adapter"));
        ObjectNode config = (ObjectNode) JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        change.accept(config);
        JSON.writeValue(adapter.resolve("adapter_config.json").toFile(), config);
        return assertThrows(RejectedException.class, () -> new OfflineMerger(new ReferenceMergeKernel())
                .validate(caseDir.resolve("base"), adapter, MergeOptions.defaults()));
    }

    private static Reason about(RejectedException e, String tensor) {
        return e.reasons().stream().filter(r -> tensor.equals(r.tensor())).findFirst()
                .orElseThrow(() -> new AssertionError(tensor + " not in " + e.reasons()));
    }

    @Test
    void doraOnExpertsPeftRetargetsIsRefused() throws Exception {
        RejectedException e = rejectWithConfig(c -> c.put("use_dora", true));
        Reason r = about(e, "model.layers.0.block_sparse_moe.experts.0.w1");
        assertEquals(ReasonCode.PEFT_VARIANT_UNSUPPORTED, r.code());
        assertEquals("use_dora", r.detail());
    }

    @Test
    void gateWithoutUpIsRefusedAsPeftRefusesToFuseIt() throws Exception {
        RejectedException e = rejectWithConfig(c -> c.putArray("target_modules").add("q_proj").add("v_proj").add("w1")
                .add("w2"));
        Reason r = about(e, "model.layers.0.block_sparse_moe.experts.0.w1");
        assertEquals(ReasonCode.ADAPTER_CONFIG_INVALID, r.code());
        assertTrue(r.message().contains("refuses an adapter that targets w1 without w3"), r.message());
    }

    @Test
    void expertFactorsOfAnotherRankThanPeftStacksAreARankMismatch() throws Exception {
        RejectedException e = rejectWithConfig(c -> {
            c.put("r", 2);
            ObjectNode ranks = c.putObject("rank_pattern");
            for (String m : new String[] {"q_proj", "v_proj", "w1", "w2", "w3"}) {
                ranks.put(m, 4);
            }
        });
        Reason r = about(e, "base_model.model.model.layers.0.block_sparse_moe.experts.0.w1.lora_A.weight");
        assertEquals(ReasonCode.RANK_MISMATCH, r.code());
        assertEquals("2", r.expected());
        assertEquals("4", r.actual());
        assertTrue(r.message().contains("PEFT stacks"), r.message());
    }
}
