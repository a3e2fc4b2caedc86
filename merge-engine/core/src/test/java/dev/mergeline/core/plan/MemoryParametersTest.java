package dev.mergeline.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mergeline.core.hf.ConversionRules;
import dev.mergeline.core.hf.WeightTransform;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** How on-disk per-expert tensors are placed in the fused parameter transformers loads them into. */
class MemoryParametersTest {

    private static ConversionRules gateUp(List<WeightTransform.Operation> ops) {
        return new ConversionRules("test", List.of(new WeightTransform("WeightConverter",
                List.of(".experts.*.w1.weight", ".experts.*.w3.weight"), List.of(".experts.gate_up_proj"),
                Pattern.compile("(?<g0>.experts..*\\.w1.weight)|(?<g1>.experts..*\\.w3.weight)"), ops,
                Optional.empty(), "", true)));
    }

    private static Map<String, TensorInfo> experts(int count) {
        Map<String, TensorInfo> base = new LinkedHashMap<>();
        for (int e = 0; e < count; e++) {
            for (String w : List.of("w1", "w3")) {
                String name = "layers.0.experts." + e + "." + w + ".weight";
                base.put(name, new TensorInfo(name, DType.BF16, List.of(6L, 4L), 0, 48));
            }
        }
        return base;
    }

    @Test
    void stackedAndConcatenatedExpertsBecomeBlocksOfEachExpertInSourceOrder() {
        Map<String, MemoryParameters.Parameter> params = MemoryParameters.of(Optional.of(gateUp(List.of(
                new WeightTransform.Operation("MergeModulelist", 0, 0, 1),
                new WeightTransform.Operation("Concatenate", 1, 0, 1)))), experts(3));
        MemoryParameters.Parameter p = params.get("layers.0.experts.gate_up_proj");
        assertNull(p.problem());
        assertEquals(List.of(3L, 12L, 4L), p.shape());
        MemoryParameters.Part w3 = p.parts().stream().filter(x -> x.diskName().equals("layers.0.experts.2.w3.weight"))
                .findFirst().orElseThrow();
        assertEquals(new MemoryParameters.Part("layers.0.experts.2.w3.weight", 2, 6, 6, 0, 4, false), w3);
    }

    @Test
    void aConverterOperationTheEngineDoesNotUndoIsAProblemNamingIt() {
        Map<String, MemoryParameters.Parameter> params = MemoryParameters.of(Optional.of(gateUp(List.of(
                new WeightTransform.Operation("MergeModulelist", 0, 0, 1),
                new WeightTransform.Operation("Chunk", 0, 0, 1)))), experts(2));
        String problem = params.get("layers.0.experts.gate_up_proj").problem();
        assertTrue(problem.contains("[.experts.*.w1.weight, .experts.*.w3.weight] -> [.experts.gate_up_proj]"), problem);
        assertTrue(problem.contains("operations [MergeModulelist, Chunk] are not applied"), problem);
    }

    @Test
    void aMissingExpertIsAProblem() {
        Map<String, TensorInfo> base = experts(3);
        base.remove("layers.0.experts.1.w3.weight");
        String problem = MemoryParameters.of(Optional.of(gateUp(List.of(
                new WeightTransform.Operation("MergeModulelist", 0, 0, 1),
                new WeightTransform.Operation("Concatenate", 1, 0, 1)))), base).get("layers.0.experts.gate_up_proj").problem();
        assertTrue(problem.contains("not one per expert (3) and source (2)"), problem);
    }
}
