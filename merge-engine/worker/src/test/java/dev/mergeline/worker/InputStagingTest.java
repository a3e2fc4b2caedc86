package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.safetensors.DType;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The scratch estimate: inputs plus output, the base doubled when 16-bit weights are written as fp32. */
class InputStagingTest {
    private static final InputStaging.Inputs INPUTS = new InputStaging.Inputs(
            Map.of("adapter_model.safetensors", new ObjectInfo("a/adapter_model.safetensors", 30, "e1"),
                    "adapter_config.json", new ObjectInfo("a/adapter_config.json", 5, "e2")),
            Map.of("model.safetensors", new ObjectInfo("b/model.safetensors", 1000, "e3"),
                    "config.json", new ObjectInfo("b/config.json", 7, "e4")));

    @Test
    void keepingDtypesNeedsInputsPlusBasePlusAdapter() {
        assertEquals(35 + 1007 + 1007 + 35, InputStaging.scratchBytesNeeded(INPUTS, Optional.empty()));
        assertEquals(35 + 1007 + 1007 + 35, InputStaging.scratchBytesNeeded(INPUTS, Optional.of(DType.BF16)));
    }

    @Test
    void fp32OutputCountsTheBaseTwice() {
        assertEquals(35 + 1007 + 2 * 1007 + 35, InputStaging.scratchBytesNeeded(INPUTS, Optional.of(DType.F32)));
    }
}
