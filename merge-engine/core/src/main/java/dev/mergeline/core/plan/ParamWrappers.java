package dev.mergeline.core.plan;

import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.hf.WeightConversions;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.RegexBudget;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LoRA on parameters ({@code target_parameters}, PEFT's {@code ParamWrapper}): routers (2-d) and fused expert
 * parameters (3-d). PEFT wraps each targeted parameter of a module once; a second parameter of the same module
 * wraps the first wrapper, so its factors are saved one {@code .base_layer} deeper
 * ({@code mlp.experts.lora_A.weight}, {@code mlp.experts.base_layer.lora_A.weight}). Which factors belong to
 * which parameter follows from their shapes: {@code lora_A} [r·E, in], {@code lora_B} [out, r·E], in and out as
 * PEFT derives them (a 3-d [E, d1, d2] parameter has out = d1, in = d2, unless transformers marks its experts
 * module {@code is_transposed}: in = d1, out = d2).
 *
 * <p>Each on-disk tensor that holds part of such a parameter ({@link MemoryParameters}) gets a
 * {@link ModuleKind#PARAMETER} delta with its {@link ParamSlice}.
 */
final class ParamWrappers {
    private static final Pattern KEY = Pattern.compile(
            "^(?:base_model\\.model\\.)?(.+?)((?:\\.base_layer)*)\\.(lora_A|lora_B)(?:\\.default)?\\.weight$");
    private static final int MAX_CANDIDATES = 3;

    /** The factors PEFT saved at one nesting depth of one module. */
    private static final class Pair {
        TensorInfo a;
        TensorInfo b;
    }

    private final AdapterConfig cfg;
    private final ModelConfig base;
    private final Map<String, TensorInfo> baseByName;
    private final List<String> targets;
    private final Map<String, MemoryParameters.Parameter> parameters;
    /** The parameters by the module that holds them. */
    private final Map<String, List<MemoryParameters.Parameter>> byModule = new LinkedHashMap<>();
    private final NameResolver resolver;
    private final RegexBudget regexBudget;
    /** Module (in-memory name, wrappers removed) → depth → factors. */
    private final Map<String, Map<Integer, Pair>> modules = new LinkedHashMap<>();

    ParamWrappers(AdapterConfig cfg, ModelConfig base, Map<String, TensorInfo> baseByName,
            Map<String, MemoryParameters.Parameter> parameters, NameResolver resolver, RegexBudget regexBudget) {
        this.cfg = cfg;
        this.regexBudget = regexBudget;
        this.base = base;
        this.baseByName = baseByName;
        this.parameters = parameters;
        parameters.values().forEach(p -> byModule.computeIfAbsent(moduleOf(p.name()), m -> new ArrayList<>()).add(p));
        this.resolver = resolver;
        List<String> t = new ArrayList<>();
        cfg.raw().path("target_parameters").forEach(n -> t.add(n.asText()));
        this.targets = List.copyOf(t);
    }

    /**
     * Takes {@code t} when it is a factor of a parameter wrapper: a {@code lora_A}/{@code lora_B} of a module
     * that has parameters {@code target_parameters} names. Returns whether it did.
     */
    boolean claim(TensorInfo t) {
        if (targets.isEmpty()) {
            return false;
        }
        Matcher m = KEY.matcher(t.name());
        if (!m.matches()) {
            return false;
        }
        String module = m.group(1);
        boolean wrapped = !m.group(2).isEmpty();
        if (!wrapped && targetedParameters(module).isEmpty() && !namesTargetedParameter(module)) {
            return false;
        }
        int depth = m.group(2).split("\\.base_layer", -1).length - 1;
        Pair pair = modules.computeIfAbsent(module, k -> new TreeMap<>()).computeIfAbsent(depth, d -> new Pair());
        if (m.group(3).equals("lora_A")) {
            pair.a = t;
        } else {
            pair.b = t;
        }
        return true;
    }

    /** Parameters of {@code module} that {@code target_parameters} names and the base holds. */
    private List<MemoryParameters.Parameter> targetedParameters(String module) {
        return byModule.getOrDefault(module, List.of()).stream().filter(p -> targetsParameter(p.name())).toList();
    }

    private static String moduleOf(String parameter) {
        return parameter.substring(0, Math.max(0, parameter.lastIndexOf('.')));
    }

    /**
     * Whether {@code target_parameters} names a parameter of {@code module} at all, held by the base or not (its
     * factors are then reported against the base instead of being taken for a Linear layer's).
     */
    private boolean namesTargetedParameter(String module) {
        return targets.stream().filter(t -> t.contains("."))
                .anyMatch(t -> targetsParameter(module + t.substring(t.lastIndexOf('.'))));
    }

    private boolean targetsParameter(String name) {
        return targets.stream().anyMatch(t -> name.equals(t) || name.endsWith("." + t));
    }

    /** Plans every claimed module into {@code ops} (on-disk name → op), or adds the reasons it cannot. */
    void plan(Map<String, TensorOp> ops, List<Reason> reasons, List<String> notes) {
        for (MemoryParameters.Parameter p : parameters.values()) {
            String module = moduleOf(p.name());
            if (targetsParameter(p.name()) && !modules.containsKey(module)) {
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, p.name(), "target_parameters targets "
                        + p.name() + " but the adapter file has no LoRA factors for " + module
                        + " (the merge would silently skip it)"));
            }
        }
        if (modules.isEmpty()) {
            return;
        }
        if (cfg.useDora()) {
            reasons.add(new Reason(ReasonCode.PEFT_VARIANT_UNSUPPORTED, "use_dora is set with target_parameters;"
                    + " PEFT 0.21 refuses it (\"lora.ParamWrapper does not work with use_dora=True\")", null,
                    "use_dora false", "true", "use_dora"));
            return;
        }
        if (cfg.loraBias()) {
            reasons.add(new Reason(ReasonCode.PEFT_VARIANT_UNSUPPORTED, "lora_bias is set with target_parameters;"
                    + " PEFT 0.21 refuses it (\"lora.ParamWrapper does not work with lora_bias=True\")", null,
                    "lora_bias false", "true", "lora_bias"));
            return;
        }
        modules.forEach((module, depths) -> planModule(module, depths, ops, reasons));
        notes.add("target_parameters: " + modules.size() + " wrapped modules merged into their base tensors ("
                + "deltas rounded to the weight's dtype before the add, as PEFT's ParamWrapper does)");
    }

    private void planModule(String module, Map<Integer, Pair> depths, Map<String, TensorOp> ops, List<Reason> reasons) {
        List<MemoryParameters.Parameter> targeted = targetedParameters(module);
        if (targeted.isEmpty()) {
            reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, module, "the adapter has LoRA weights for "
                    + "parameters of " + module + " (target_parameters " + targets + ") but no base tensor loads"
                    + " into such a parameter; " + candidates(module) + "; " + resolver.missingRule(module)));
            return;
        }
        for (MemoryParameters.Parameter p : targeted) {
            if (p.problem() != null) {
                reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, p.name(), "the adapter has LoRA weights"
                        + " for parameter " + p.name() + ", held on disk by " + String.join(", ", candidateNames(module))
                        + ", but " + p.problem()));
                return;
            }
        }
        boolean transposed = WeightConversions.pinned().transposedExperts(base, module);
        List<MemoryParameters.Parameter> unassigned = new ArrayList<>(targeted);
        boolean misfit = false;
        for (Map.Entry<Integer, Pair> e : depths.entrySet()) {
            Pair pair = e.getValue();
            if (pair.a == null || pair.b == null) {
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module, "module " + module + " has only "
                        + "half of a parameter's LoRA pair at wrapper depth " + e.getKey() + ": "
                        + (pair.a == null ? "lora_A" : "lora_B") + " is missing"));
                continue;
            }
            List<MemoryParameters.Parameter> fitting = unassigned.stream().filter(q -> fits(q, transposed, pair))
                    .toList();
            if (fitting.size() > 1) {
                reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, pair.a.name(), "LoRA factors "
                        + pair.a.name() + " fit the targeted parameters " + fitting.stream()
                                .map(MemoryParameters.Parameter::name).toList() + " alike; which one PEFT wrapped at"
                        + " this depth is not recorded in the adapter"));
                misfit = true;
                continue;
            }
            MemoryParameters.Parameter p = fitting.isEmpty() ? null : fitting.get(0);
            MemoryParameters.Parameter otherLayout = unassigned.stream().map(MemoryParameters.Parameter::transposedLayout)
                    .filter(q -> q != null && fits(q, transposed, pair)).findFirst().orElse(null);
            if (p == null && otherLayout != null) {
                String disk = otherLayout.parts().get(0).diskName();
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, disk, "the checkpoint stores " + disk
                        + " transposed from parameter " + otherLayout.name() + ", which transformers transposes on "
                        + "loading and save_pretrained writes back in the parameter's layout " + otherLayout.shape()
                        + "; Mergeline keeps every base tensor's shape, so it cannot write what PEFT + save_pretrained"
                        + " write here; save the base with transformers 5 first", otherLayout.shape(),
                        baseByName.get(disk).shape()));
                misfit = true;
                continue;
            }
            if (p == null) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, pair.a.name(), "LoRA factors "
                        + pair.a.name() + " " + pair.a.shape() + " and " + pair.b.name() + " " + pair.b.shape()
                        + " fit no targeted parameter of " + module + " (lora_A [r·E, in], lora_B [out, r·E])",
                        expectedShapes(unassigned, transposed), List.of(pair.a.shape(), pair.b.shape())));
                misfit = true;
                continue;
            }
            unassigned.remove(p);
            planParameter(p, transposed, pair, ops, reasons);
        }
        for (MemoryParameters.Parameter p : misfit ? List.<MemoryParameters.Parameter>of() : unassigned) {
            reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, p.name(), "target_parameters targets "
                    + p.name() + " but the adapter file has no LoRA factors for it (the merge would silently skip it)"));
        }
    }

    /** in, out of a parameter as PEFT's ParamWrapper derives them. */
    private static long[] inOut(MemoryParameters.Parameter p, boolean transposed) {
        if (p.experts() == 0) {
            return new long[] {p.d2(), p.d1()};
        }
        return transposed ? new long[] {p.d1(), p.d2()} : new long[] {p.d2(), p.d1()};
    }

    private static boolean fits(MemoryParameters.Parameter p, boolean transposed, Pair pair) {
        long[] io = inOut(p, transposed);
        int experts = Math.max(1, p.experts());
        return pair.a.rank() == 2 && pair.b.rank() == 2 && pair.a.shape().get(1) == io[0]
                && pair.b.shape().get(0) == io[1] && pair.a.shape().get(0).equals(pair.b.shape().get(1))
                && pair.a.shape().get(0) % experts == 0;
    }

    private static String expectedShapes(List<MemoryParameters.Parameter> params, boolean transposed) {
        List<String> out = new ArrayList<>();
        for (MemoryParameters.Parameter p : params) {
            long[] io = inOut(p, transposed);
            String rE = p.experts() == 0 ? "r" : "r·" + p.experts();
            out.add(p.name() + " " + p.shape() + ": lora_A [" + rE + ", " + io[0] + "], lora_B [" + io[1] + ", " + rE + "]");
        }
        return String.join("; ", out);
    }

    private void planParameter(MemoryParameters.Parameter p, boolean transposed, Pair pair, Map<String, TensorOp> ops,
            List<Reason> reasons) {
        int experts = Math.max(1, p.experts());
        int rank = cfg.rankFor(p.name(), regexBudget);
        long actual = pair.a.shape().get(0);
        if (actual != Math.multiplyExact((long) rank, experts)) {
            reasons.add(Reason.mismatch(ReasonCode.RANK_MISMATCH, pair.a.name(), "rows of " + pair.a.name()
                    + " must be r (r / rank_pattern for " + p.name() + ") times the " + experts + " experts",
                    (long) rank * experts, actual));
            return;
        }
        float scale = cfg.scalingFor(p.name(), regexBudget);
        for (MemoryParameters.Part part : p.parts()) {
            TensorInfo w = baseByName.get(part.diskName());
            if (w.dtype() == DType.F8_E4M3 || w.dtype() == DType.F8_E5M2) {
                reasons.add(Reason.mismatch(ReasonCode.BASE_QUANTIZED, w.name(), "FP8 weight " + w.name()
                        + " is part of " + p.name() + ", which the adapter changes through target_parameters; such"
                        + " deltas are merged into F32, F16 or BF16 weights only: dequantize the base (load it with"
                        + " transformers, save_pretrained in bf16) and merge into that", "F32, F16 or BF16", w.dtype())
                        .withDetail("FP8_TARGET_PARAMETERS"));
                continue;
            }
            if (!w.dtype().isMergeable()) {
                reasons.add(Reason.mismatch(ReasonCode.DTYPE_UNSUPPORTED, w.name(), "base weight " + w.name()
                        + " is " + w.dtype(), "F32, F16 or BF16", w.dtype()));
                continue;
            }
            ParamSlice slice = new ParamSlice(experts, p.experts() == 0 ? 0 : part.expert(), transposed,
                    part.firstRow(), part.rows(), part.firstCol(), part.cols(), part.transposed());
            ops.put(part.diskName(), new TensorOp.LowRank(TensorSource.base(part.diskName()), ModuleKind.PARAMETER,
                    pair.a.name(), pair.b.name(), rank, scale, null, slice));
        }
    }

    /**
     * Base tensors below a module of the same last name segment in the same layer (for {@code
     * model.layers.0.mlp.experts}: {@code model.layers.0.block_sparse_moe.experts.0.w1.weight}).
     */
    private List<String> candidateNames(String module) {
        String last = module.substring(module.lastIndexOf('.') + 1);
        Matcher layer = Pattern.compile("\\.(\\d+)\\.").matcher(module);
        String inLayer = layer.find() ? "." + layer.group(1) + "." : "";
        return baseByName.keySet().stream()
                .filter(n -> (n.startsWith(last + ".") || n.contains("." + last + ".")) && n.contains(inLayer))
                .limit(MAX_CANDIDATES).toList();
    }

    private String candidates(String module) {
        List<String> names = candidateNames(module);
        return names.isEmpty() ? "no base tensor lies below a module named like it"
                : "the base has " + String.join(", ", names);
    }
}
