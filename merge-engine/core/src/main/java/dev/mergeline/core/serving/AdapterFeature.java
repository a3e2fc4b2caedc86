package dev.mergeline.core.serving;

import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.plan.ModuleKind;
import dev.mergeline.core.plan.TensorOp;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.function.BiPredicate;

/**
 * Properties of a validated adapter that decide whether a serving engine can load it unmerged. Each
 * is read from the adapter's config as written and from the merge plan (what the adapter's tensors
 * actually do), never from weights.
 */
public enum AdapterFeature {
    /** {@code modules_to_save} is a non-empty list in the config file. */
    MODULES_TO_SAVE((config, plan) -> nonEmptyList(config.raw().get("modules_to_save"))),
    /** {@code use_dora}. */
    DORA((config, plan) -> config.useDora()),
    /** {@code bias} is {@code all} or {@code lora_only}: base biases were trained and saved. */
    BIAS((config, plan) -> !"none".equals(config.bias())),
    /** {@code lora_bias}: {@code lora_B} carries a bias. */
    LORA_BIAS((config, plan) -> config.loraBias()),
    /** A non-empty {@code rank_pattern}. */
    RANK_PATTERN((config, plan) -> !config.rankPattern().isEmpty()),
    /** A non-empty {@code alpha_pattern}. */
    ALPHA_PATTERN((config, plan) -> !config.alphaPattern().isEmpty()),
    /** A LoRA pair on an embedding layer. */
    EMBEDDING_LORA((config, plan) -> plan.tensors().stream().anyMatch(t ->
            t.op().unwrapped() instanceof TensorOp.LowRank lr && lr.kind() == ModuleKind.EMBEDDING)),
    /**
     * A non-empty {@code target_parameters}: LoRA on parameters (PEFT's {@code ParamWrapper}), i.e. on fused
     * expert weights or routers rather than on linear modules.
     */
    TARGET_PARAMETERS((config, plan) -> nonEmptyList(config.raw().get("target_parameters"))),
    /** The largest rank of any merged module is above the engine's largest supported rank. */
    RANK_ABOVE_ENGINE_MAX(null),
    /** The largest rank of any merged module is above the engine's default maximum. */
    RANK_ABOVE_ENGINE_DEFAULT(null);

    private final BiPredicate<AdapterConfig, MergePlan> test;

    AdapterFeature(BiPredicate<AdapterConfig, MergePlan> test) {
        this.test = test;
    }

    /**
     * Whether the adapter has this feature; rank features compare {@code maxRank} with the limits.
     *
     * @param engineMaxRank the engine's largest supported rank, or 0 when it has none
     * @param engineDefaultMaxRank the engine's default maximum rank, or 0 when it has none
     */
    boolean presentIn(MergePlan plan, int maxRank, int engineMaxRank, int engineDefaultMaxRank) {
        return switch (this) {
            case RANK_ABOVE_ENGINE_MAX -> engineMaxRank > 0 && maxRank > engineMaxRank;
            case RANK_ABOVE_ENGINE_DEFAULT -> engineDefaultMaxRank > 0 && maxRank > engineDefaultMaxRank
                    && (engineMaxRank == 0 || maxRank <= engineMaxRank);
            default -> test.test(plan.adapter(), plan);
        };
    }

    private static boolean nonEmptyList(JsonNode node) {
        return node != null && node.isArray() && !node.isEmpty();
    }
}
