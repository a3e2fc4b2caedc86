package dev.mergeline.core.plan;

import dev.mergeline.core.hf.ConversionRules;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.hf.PeftMoeConversion;
import dev.mergeline.core.hf.WeightConversions;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.RegexBudget;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.TensorInfo;
import java.util.List;
import java.util.Optional;

/**
 * Adapters trained on transformers 4's per-expert Linear layers ({@code block_sparse_moe.experts.E.w1},
 * {@code mlp.experts.E.gate_proj}, the router {@code gate}), merged as the pinned PEFT merges them on
 * transformers 5 ({@link PeftMoeConversion}): for the model types it converts, it retargets those modules to the
 * fused parameters ({@code target_parameters}) and stacks the per-expert factors into the parameter's, so each
 * expert's delta is its own {@code B@A}, scaled with rank and alpha times the number of fused modules, and — as for
 * every {@code ParamWrapper} — rounded to the weight's dtype before the add. A module whose name PEFT retargets but
 * that belongs to no fused parameter (a dense MLP's or shared expert's {@code gate_proj}) is no longer targeted by
 * PEFT, which then leaves its weights unmerged: refused rather than merged differently or dropped silently.
 */
final class LegacyExperts {

    /** What to do with one module: its op, or null when refused (a reason is recorded). */
    record Decision(TensorOp op) {}

    private final AdapterConfig cfg;
    private final ModelConfig base;
    private final Optional<ConversionRules> rules;
    private final Optional<PeftMoeConversion> conversion;
    private final RegexBudget regexBudget;

    LegacyExperts(AdapterConfig cfg, ModelConfig base, Optional<ConversionRules> rules, RegexBudget regexBudget) {
        this.cfg = cfg;
        this.regexBudget = regexBudget;
        this.base = base;
        this.rules = rules;
        this.conversion = WeightConversions.pinned().peftMoeConversion(base.modelType());
    }

    /** Empty when PEFT loads {@code module} as the Linear layer it was trained on. */
    Optional<Decision> plan(String module, String weightName, TensorInfo w, TensorInfo a, TensorInfo b,
            List<Reason> reasons) {
        String leaf = module.substring(module.lastIndexOf('.') + 1);
        Optional<String> parameter = conversion.flatMap(c -> c.parameterFor(leaf));
        if (parameter.isEmpty()) {
            return Optional.empty();
        }
        PeftMoeConversion c = conversion.get();
        ConversionRules.MemoryName memory = rules.map(r -> r.toMemory(weightName))
                .orElse(new ConversionRules.MemoryName(weightName, Optional.empty(), -1));
        boolean router = parameter.get().contains(".");
        boolean partOf = memory.memoryName().endsWith("." + parameter.get())
                && memory.converter().isPresent() != router;
        if (!partOf) {
            reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, module, "PEFT (" + c.source() + ") loads "
                    + "adapters for model_type " + base.modelType() + " by rewriting target_modules entries named "
                    + leaf + " into target_parameters " + parameter.get() + "; " + module + " (base tensor "
                    + weightName + ") is no such parameter, so PEFT leaves its LoRA weights unloaded and unmerged;"
                    + " merging them would differ from PEFT's model and dropping them would discard trained weights"));
            return Optional.of(new Decision(null));
        }
        if (cfg.useDora()) {
            reasons.add(new Reason(ReasonCode.PEFT_VARIANT_UNSUPPORTED, "use_dora is set on " + module + ", which "
                    + "PEFT loads as a ParamWrapper of " + memory.memoryName() + "; PEFT 0.21 refuses it (\"lora."
                    + "ParamWrapper does not work with use_dora=True\")", module, "use_dora false", "true", "use_dora"));
            return Optional.of(new Decision(null));
        }
        int fused = c.fusedCount(parameter.get());
        if (fused > 1) {
            for (String sibling : c.fused().get(parameter.get())) {
                String siblingModule = module.substring(0, module.length() - leaf.length()) + sibling;
                if (!cfg.targets(siblingModule, regexBudget)) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_CONFIG_INVALID, module, "PEFT fuses "
                            + c.fused().get(parameter.get()) + " into " + parameter.get() + " and refuses an adapter "
                            + "that targets " + leaf + " without " + sibling));
                    return Optional.of(new Decision(null));
                }
            }
        }
        int rank = fused > 1 ? cfg.r() : cfg.rankFor(memory.memoryName(), regexBudget);
        long actual = a.shape().get(0);
        if (actual != rank) {
            reasons.add(Reason.mismatch(ReasonCode.RANK_MISMATCH, a.name(), "PEFT stacks " + module + "'s factors "
                    + "into " + memory.memoryName() + " with rank " + (fused > 1 ? fused + "·r" : "r (rank_pattern)")
                    + " and cannot load factors of another rank", rank, actual));
            return Optional.of(new Decision(null));
        }
        double alpha = fused > 1 ? fused * cfg.loraAlpha() : cfg.alphaFor(memory.memoryName(), regexBudget);
        int stacked = fused * rank;
        float scale = (float) (cfg.useRslora() ? alpha / Math.sqrt(stacked) : alpha / stacked);
        int rows = Math.toIntExact(w.shape().get(0));
        int cols = Math.toIntExact(w.shape().get(1));
        return Optional.of(new Decision(new TensorOp.LowRank(TensorSource.base(weightName), ModuleKind.PARAMETER,
                a.name(), b.name(), rank, scale, null, new ParamSlice(1, 0, false, 0, rows, 0, cols, false))));
    }
}
