package dev.mergeline.core.plan;

import dev.mergeline.core.quant.BaseQuantization;
import dev.mergeline.core.quant.Fp8BlockScaling;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Rewrites a plan over an FP8 block-scaled base ({@code docs/quantized-bases.md}). A weight a LoRA
 * changes is dequantized, merged and re-quantized, its scale grid planned right after it; untouched
 * FP8 weights and their scales stay byte-for-byte copies. With an output dtype ({@code --dtype})
 * every FP8 weight is dequantized to it and the scales and activation scales are dropped.
 */
final class Fp8Planning {

    private Fp8Planning() {}

    /**
     * @param workType the dtype transformers dequantizes into: the output dtype when one is set, else
     *     the config's {@code dtype} when it is a float type, else bf16
     */
    static List<PlannedTensor> apply(List<PlannedTensor> tensors, Map<String, TensorInfo> base,
            Fp8BlockScaling scaling, DType workType, Optional<DType> outputDType, List<Reason> reasons) {
        Map<String, String> recomputedScales = new HashMap<>();
        Set<String> dropped = new HashSet<>();
        List<PlannedTensor> weights = new ArrayList<>();
        for (PlannedTensor t : tensors) {
            TensorInfo source = base.get(t.name());
            if (source == null || source.dtype() != DType.F8_E4M3) {
                weights.add(t);
                continue;
            }
            String scale = BaseQuantization.scaleName(source.name());
            boolean fromBase = t.op().source().equals(TensorSource.base(source.name()));
            boolean lora = t.op() instanceof TensorOp.LowRank lr && lr.kind() == ModuleKind.LINEAR && source.rank() == 2;
            if (!fromBase || (!lora && !(t.op() instanceof TensorOp.Copy))) {
                reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, t.name(), "FP8 weight " + t.name()
                        + " is changed by an operation other than a LoRA on a Linear layer ("
                        + (fromBase ? t.op().getClass().getSimpleName() : "replaced by " + t.op().source().name())
                        + "), which is not merged into FP8 weights"));
                continue;
            }
            if (outputDType.isPresent()) {
                dropped.add(scale);
                dropped.add(activationScale(source.name()));
            } else if (lora) {
                recomputedScales.put(scale, t.name());
            } else {
                weights.add(t); // untouched: copied with its scale, byte for byte
                continue;
            }
            weights.add(new PlannedTensor(t.name(), outputDType.orElse(DType.F8_E4M3), t.shape(), new TensorOp.Fp8Block(
                    t.op(), scale, scaling.blockRows(), scaling.blockCols(), workType)));
        }
        Map<String, PlannedTensor> scalesAfter = new HashMap<>();
        List<PlannedTensor> out = new ArrayList<>();
        for (PlannedTensor t : weights) {
            if (dropped.contains(t.name())) {
                continue;
            }
            String weight = recomputedScales.get(t.name());
            if (weight != null) {
                scalesAfter.put(weight, new PlannedTensor(t.name(), DType.F32, t.shape(),
                        new TensorOp.Fp8Scales(t.op().source(), weight)));
                continue;
            }
            out.add(t);
        }
        List<PlannedTensor> ordered = new ArrayList<>();
        for (PlannedTensor t : out) {
            ordered.add(t);
            PlannedTensor scale = scalesAfter.get(t.name());
            if (scale != null) {
                ordered.add(scale);
            }
        }
        return ordered;
    }

    /** {@code x.weight} → {@code x.activation_scale} (static activation scaling; unused by a dequantized model). */
    private static String activationScale(String weight) {
        return weight.substring(0, weight.lastIndexOf('.') + 1) + "activation_scale";
    }
}
