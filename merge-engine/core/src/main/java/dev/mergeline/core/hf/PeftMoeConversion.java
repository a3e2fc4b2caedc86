package dev.mergeline.core.hf;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How the pinned PEFT loads an adapter trained on transformers 4's per-expert Linear layers onto transformers 5's
 * fused experts ({@code peft/utils/transformers_weight_conversion.py}, as data in {@code weight_conversions.json}):
 * a {@code target_modules} entry ending in one of {@code targetModules}' keys becomes the {@code target_parameters}
 * entry it maps to (experts and router), the modules one fused parameter gathers ({@code fused}, in concatenation
 * order) get rank and alpha times their number, and the saved per-expert factors are stacked into that parameter's
 * factors.
 *
 * @param source the PEFT file the tables come from
 * @param targetModules leaf module name of transformers 4 → parameter of transformers 5 ({@code w1 → gate_up_proj},
 *     {@code gate → gate.weight})
 * @param fused fused parameter → the leaf modules it gathers
 */
public record PeftMoeConversion(String source, Map<String, String> targetModules, Map<String, List<String>> fused) {

    public PeftMoeConversion {
        targetModules = Map.copyOf(targetModules);
        fused = Map.copyOf(fused);
    }

    /** The parameter PEFT retargets a module of this leaf name to, if it does. */
    public Optional<String> parameterFor(String leaf) {
        return Optional.ofNullable(targetModules.get(leaf));
    }

    /** How many modules PEFT fuses into {@code parameter} (1 when it fuses none). */
    public int fusedCount(String parameter) {
        return fused.getOrDefault(parameter, List.of()).size() > 1 ? fused.get(parameter).size() : 1;
    }
}
