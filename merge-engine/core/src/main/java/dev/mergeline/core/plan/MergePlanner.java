package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.EmbeddingNames;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.ModuleSelector;
import dev.mergeline.core.plan.AdapterKey.Role;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides a whole merge from the adapter config, the adapter's safetensors header, the base
 * {@code config.json} and the base's safetensors headers — never from weights. The same rules
 * serve validation (the plan is discarded) and merging (the plan is executed), so a merge never
 * starts on inputs validation would reject. Every problem found is reported, not only the first.
 */
public final class MergePlanner {

    /** GPT-2 style modules that are {@code Conv1D} (weight stored [in, out]). */
    private static final Set<String> CONV1D_MODULES = Set.of("c_attn", "c_proj", "c_fc", "q_attn");
    /** Task types whose model class drops the pretraining heads of a base checkpoint. */
    private static final Set<String> HEAD_TASKS = Set.of("SEQ_CLS", "TOKEN_CLS", "QUESTION_ANS");
    private static final List<String> PRETRAINING_HEADS = List.of("cls.", "lm_head.");

    /**
     * Options that change the output.
     *
     * @param outputDType cast every floating-point tensor to this type (as loading the base with
     *     {@code torch_dtype=...} would), or empty to keep each tensor's own dtype
     */
    public record Options(Optional<DType> outputDType) {
        public static final Options DEFAULT = new Options(Optional.empty());
    }

    public MergePlan plan(AdapterConfig cfg, List<TensorInfo> adapterTensors, ModelConfig base,
            List<TensorInfo> baseTensors, Options options) throws RejectedException {
        return new Run(cfg, adapterTensors, base, baseTensors, options).plan();
    }

    /** The LoRA tensors of one module. */
    private static final class ModuleTensors {
        final Map<Role, TensorInfo> byRole = new EnumMap<>(Role.class);
    }

    private static final class Run {
        private final AdapterConfig cfg;
        private final ModelConfig base;
        private final Options options;
        private final Map<String, TensorInfo> baseByName = new LinkedHashMap<>();
        private final Map<String, TensorInfo> adapterByName = new LinkedHashMap<>();
        private final Map<String, ModuleTensors> loraModules = new LinkedHashMap<>();
        private final List<AdapterKey> fullTensors = new ArrayList<>();
        private final List<Reason> reasons = new ArrayList<>();
        private final Map<String, TensorOp> opsByBaseName = new LinkedHashMap<>();
        private final Map<String, PlannedTensor> added = new LinkedHashMap<>();
        private final List<String> notes = new ArrayList<>();
        private NameTranslation names = NameTranslation.IDENTITY;
        private int replaced;

        Run(AdapterConfig cfg, List<TensorInfo> adapterTensors, ModelConfig base, List<TensorInfo> baseTensors,
                Options options) {
            this.cfg = cfg;
            this.base = base;
            this.options = options;
            baseTensors.forEach(t -> baseByName.put(t.name(), t));
            adapterTensors.forEach(t -> adapterByName.put(t.name(), t));
            for (TensorInfo t : adapterTensors) {
                AdapterKey key = AdapterKey.parse(t.name());
                switch (key.role()) {
                    case FULL -> fullTensors.add(key);
                    case UNKNOWN -> reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, t.name(),
                            "adapter tensor " + t.name() + " is not a LoRA tensor this version understands"));
                    default -> loraModules.computeIfAbsent(key.module(), m -> new ModuleTensors()).byRole.put(key.role(), t);
                }
            }
            adapterTensors.forEach(this::checkAdapterDType);
        }

        MergePlan plan() throws RejectedException {
            if (base.quantized()) {
                reasons.add(new Reason(ReasonCode.BASE_QUANTIZED, "the base config has a quantization_config ("
                        + base.raw().path("quantization_config").path("quant_method").asText("unknown")
                        + "); merge into the unquantized base and quantize afterwards", null, "no quantization_config",
                        "quantization_config", null));
                throw new RejectedException(reasons);
            }
            chooseTranslation();
            if (!loraModules.isEmpty() && resolvedLoraModules(names) == 0) {
                String example = loraModules.keySet().iterator().next();
                reasons.add(Reason.mismatch(ReasonCode.ARCHITECTURE_MISMATCH, example,
                        "none of the adapter's " + loraModules.size() + " LoRA modules exists in the base (e.g. "
                                + example + "); the adapter was trained on another architecture",
                        "a base with module " + example, base.architecture()));
                throw new RejectedException(reasons);
            }
            loraModules.forEach(this::planModule);
            fullTensors.forEach(this::planFull);
            checkTargetsHaveKeys();
            if (!reasons.isEmpty()) {
                throw new RejectedException(reasons);
            }
            return assemble();
        }


        private void checkAdapterDType(TensorInfo t) {
            if (!t.dtype().isMergeable()) {
                reasons.add(Reason.mismatch(ReasonCode.DTYPE_UNSUPPORTED, t.name(),
                        "adapter tensor " + t.name() + " has dtype " + t.dtype(), "F32, F16 or BF16", t.dtype()));
            }
        }

        private void chooseTranslation() {
            int best = -1;
            for (NameTranslation candidate : NameTranslation.candidates(allAdapterModules(), baseByName.keySet())) {
                int resolved = resolvedLoraModules(candidate) + resolvedFull(candidate);
                if (resolved > best) {
                    best = resolved;
                    names = candidate;
                }
            }
            if (names != NameTranslation.IDENTITY) {
                notes.add("adapter module names mapped onto base names: " + names.description());
            }
        }

        private List<String> allAdapterModules() {
            List<String> all = new ArrayList<>(loraModules.keySet());
            fullTensors.forEach(k -> all.add(k.fullName()));
            return all;
        }

        private int resolvedLoraModules(NameTranslation t) {
            return (int) loraModules.keySet().stream()
                    .filter(m -> baseByName.containsKey(t.toBase().apply(m) + ".weight")).count();
        }

        private int resolvedFull(NameTranslation t) {
            return (int) fullTensors.stream().filter(k -> baseByName.containsKey(t.toBase().apply(k.fullName()))).count();
        }

        private void planModule(String module, ModuleTensors m) {
            String weightName = names.toBase().apply(module) + ".weight";
            TensorInfo w = baseByName.get(weightName);
            if (w == null) {
                reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, module,
                        "the adapter has LoRA weights for " + module + " but the base has no tensor " + weightName));
                return;
            }
            boolean embedding = m.byRole.containsKey(Role.EMBEDDING_A) || m.byRole.containsKey(Role.EMBEDDING_B);
            if (cfg.targetModules() != null && !targetedByPeft(module, weightName, embedding)) {
                reasons.add(new Reason(ReasonCode.ADAPTER_CONFIG_INVALID, "the adapter has LoRA weights for " + module
                        + " but its config does not target that module (target_modules "
                        + cfg.targetModules().describe() + "); PEFT would ignore these weights; set target_modules"
                        + " to include them", module, "a module matched by target_modules", module, "target_modules"));
                return;
            }
            boolean linear = m.byRole.containsKey(Role.LORA_A) || m.byRole.containsKey(Role.LORA_B);
            if (embedding && linear) {
                reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, module,
                        "module " + module + " has both lora_A/lora_B and lora_embedding_A/B tensors"));
                return;
            }
            TensorInfo a = m.byRole.get(embedding ? Role.EMBEDDING_A : Role.LORA_A);
            TensorInfo b = m.byRole.get(embedding ? Role.EMBEDDING_B : Role.LORA_B);
            if (a == null || b == null) {
                String missing = (a == null ? (embedding ? "lora_embedding_A" : "lora_A") : (embedding ? "lora_embedding_B" : "lora_B"));
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module,
                        "module " + module + " has only half of its LoRA pair: " + missing + " is missing"));
                return;
            }
            if (!checkBaseWeight(w)) {
                return;
            }
            if (w.rank() != 2) {
                reasons.add(Reason.mismatch(ReasonCode.PEFT_VARIANT_UNSUPPORTED, weightName,
                        "LoRA on a " + w.rank() + "-d weight (convolution) is not supported", "2-d weight", w.shape()));
                return;
            }
            ModuleKind kind = embedding ? ModuleKind.EMBEDDING
                    : base.usesConv1D() && CONV1D_MODULES.contains(lastSegment(module)) ? ModuleKind.CONV1D
                    : ModuleKind.LINEAR;
            long rows = w.shape().get(0);
            long cols = w.shape().get(1);
            // in/out features of the layer, in PEFT's terms
            long in = kind == ModuleKind.LINEAR ? cols : rows;
            long out = kind == ModuleKind.LINEAR ? rows : cols;
            if (!checkPair(module, a, b, in, out)) {
                return;
            }
            int rank = a.shape().get(0).intValue();
            float scale = cfg.scalingFor(module);
            String magnitude = planMagnitude(module, m, kind, out);
            if (magnitude == null && cfg.useDora()) {
                return;
            }
            opsByBaseName.put(weightName, new TensorOp.LowRank(TensorSource.base(weightName), kind, a.name(), b.name(),
                    rank, scale, magnitude));
            planLoraBias(module, m, out, scale);
        }

        /**
         * Whether PEFT puts LoRA on {@code module}. {@code "all-linear"} is every Linear/Conv1D layer
         * except the output embedding (PEFT's {@code _maybe_include_all_linear_layers}), so never an
         * embedding and never {@code lm_head}.
         */
        private boolean targetedByPeft(String module, String weightName, boolean embedding) {
            if (!(cfg.targetModules() instanceof ModuleSelector.AllLinear)) {
                return cfg.targets(module);
            }
            boolean outputEmbedding = EmbeddingNames.find(baseByName.keySet())
                    .map(e -> e.output().equals(weightName)).orElse(false);
            return !embedding && !outputEmbedding && cfg.targets(module);
        }

        private boolean checkBaseWeight(TensorInfo w) {
            if (w.dtype().isMergeable()) {
                return true;
            }
            boolean quantizedLooking = !w.dtype().isFloatingPoint() || w.dtype() == DType.F8_E4M3 || w.dtype() == DType.F8_E5M2;
            reasons.add(Reason.mismatch(quantizedLooking ? ReasonCode.BASE_QUANTIZED : ReasonCode.DTYPE_UNSUPPORTED,
                    w.name(), "base weight " + w.name() + " is " + w.dtype()
                            + (quantizedLooking ? " (quantized); merge into the unquantized base" : ""),
                    "F32, F16 or BF16", w.dtype()));
            return false;
        }

        /** A [r, in], B [out, r]; r agrees between them and with the config. */
        private boolean checkPair(String module, TensorInfo a, TensorInfo b, long in, long out) {
            if (a.rank() != 2 || b.rank() != 2) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, a.rank() != 2 ? a.name() : b.name(),
                        "LoRA factors must be 2-d", "2-d", a.rank() != 2 ? a.shape() : b.shape()));
                return false;
            }
            boolean ok = true;
            long rankA = a.shape().get(0);
            long rankB = b.shape().get(1);
            int expectedRank = cfg.rankFor(module);
            if (rankA != rankB) {
                reasons.add(Reason.mismatch(ReasonCode.RANK_MISMATCH, b.name(),
                        "rank of " + b.name() + " differs from its A factor", rankA, rankB));
                ok = false;
            } else if (rankA != expectedRank) {
                reasons.add(Reason.mismatch(ReasonCode.RANK_MISMATCH, a.name(), "rank of " + a.name()
                        + " differs from the config (r / rank_pattern)", expectedRank, rankA));
                ok = false;
            }
            if (a.shape().get(1) != in) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, a.name(), "A factor " + a.name()
                        + " does not fit the base layer's " + in + " input features", List.of(rankA, in), a.shape()));
                ok = false;
            }
            if (b.shape().get(0) != out) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, b.name(), "B factor " + b.name()
                        + " does not fit the base layer's " + out + " output features", List.of(out, rankB), b.shape()));
                ok = false;
            }
            return ok;
        }

        /** The DoRA magnitude tensor name; null when absent (a reason is recorded when it should exist). */
        private String planMagnitude(String module, ModuleTensors m, ModuleKind kind, long out) {
            TensorInfo mag = m.byRole.get(Role.MAGNITUDE);
            if (!cfg.useDora()) {
                if (mag != null) {
                    reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, mag.name(),
                            "adapter has a DoRA magnitude vector but use_dora is false"));
                }
                return null;
            }
            if (mag == null) {
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module,
                        "use_dora is true but module " + module + " has no lora_magnitude_vector"));
                return null;
            }
            if (mag.elementCount() != out || mag.rank() != 1) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, mag.name(),
                        "DoRA magnitude must hold one value per output feature", List.of(out), mag.shape()));
                return null;
            }
            return mag.name();
        }

        private void planLoraBias(String module, ModuleTensors m, long out, float scale) {
            TensorInfo bias = m.byRole.get(Role.LORA_B_BIAS);
            if (!cfg.loraBias()) {
                if (bias != null) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_CONFIG_INVALID, bias.name(),
                            "adapter has lora_B bias " + bias.name() + " but lora_bias is false"));
                }
                return;
            }
            if (bias == null) {
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module,
                        "lora_bias is true but module " + module + " has no lora_B.bias"));
                return;
            }
            String baseBias = names.toBase().apply(module) + ".bias";
            TensorInfo b = baseByName.get(baseBias);
            if (b == null) {
                reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, baseBias,
                        "lora_bias needs the base bias " + baseBias + ", which the base lacks"));
                return;
            }
            if (bias.rank() != 1 || bias.elementCount() != out || b.elementCount() != out) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, bias.name(),
                        "lora_B bias must hold one value per output feature", List.of(out), bias.shape()));
                return;
            }
            if (checkBaseWeight(b)) {
                opsByBaseName.put(baseBias, new TensorOp.AddBias(TensorSource.base(baseBias), bias.name(), scale));
            }
        }

        private void planFull(AdapterKey key) {
            String baseName = names.toBase().apply(key.fullName());
            TensorInfo target = baseByName.get(baseName);
            TensorInfo source = adapterInfo(key);
            if (target == null) {
                if (cfg.isModuleToSave(key.module())) {
                    DType dtype = options.outputDType().orElse(base.dtype().filter(DType::isMergeable)
                            .orElse(dominantDType()));
                    added.put(baseName, new PlannedTensor(baseName, dtype, source.shape(),
                            new TensorOp.Copy(TensorSource.adapter(key.tensor()))));
                } else {
                    reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, key.tensor(), "adapter tensor "
                            + key.tensor() + " replaces " + baseName + ", which the base lacks (and "
                            + key.module() + " is not in modules_to_save)"));
                }
                return;
            }
            if (!target.shape().equals(source.shape())) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, key.tensor(),
                        "replacement " + key.tensor() + " does not have the shape of " + baseName, target.shape(),
                        source.shape()));
                return;
            }
            replaced++;
            TensorOp existing = opsByBaseName.get(baseName);
            TensorSource replacement = TensorSource.adapter(key.tensor());
            // Full replacements come before deltas: a delta then applies to the replaced tensor.
            if (existing instanceof TensorOp.LowRank lr) {
                opsByBaseName.put(baseName, new TensorOp.LowRank(replacement, lr.kind(), lr.loraA(), lr.loraB(),
                        lr.rank(), lr.scale(), lr.magnitude()));
            } else if (existing instanceof TensorOp.AddBias ab) {
                opsByBaseName.put(baseName, new TensorOp.AddBias(replacement, ab.loraBBias(), ab.scale()));
            } else {
                opsByBaseName.put(baseName, new TensorOp.Copy(replacement));
            }
        }

        private TensorInfo adapterInfo(AdapterKey key) {
            return adapterByName.get(key.tensor());
        }

        private DType dominantDType() {
            Map<DType, Long> bytes = new EnumMap<>(DType.class);
            baseByName.values().stream().filter(t -> t.dtype().isMergeable())
                    .forEach(t -> bytes.merge(t.dtype(), t.byteLength(), Long::sum));
            return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(DType.F32);
        }

        /** Every module the config targets must have LoRA tensors; otherwise the merge is a silent partial no-op. */
        private void checkTargetsHaveKeys() {
            if (cfg.targetModules() == null || cfg.targetModules() instanceof ModuleSelector.AllLinear) {
                return;
            }
            for (TensorInfo t : baseByName.values()) {
                if (t.rank() != 2 || !t.name().endsWith(".weight") || droppedHead(t.name())) {
                    continue;
                }
                String baseModule = t.name().substring(0, t.name().length() - ".weight".length());
                String module = names.toAdapter().apply(baseModule);
                if (cfg.targets(module) && !loraModules.containsKey(module)) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module, "the config targets " + module
                            + " but the adapter file has no LoRA tensors for it (the merge would silently skip it)"));
                }
            }
        }

        private boolean droppedHead(String baseName) {
            return cfg.taskType() != null && HEAD_TASKS.contains(cfg.taskType()) && PRETRAINING_HEADS.stream().anyMatch(baseName::startsWith);
        }

        private DType outputDType(DType dtype) {
            return dtype.isMergeable() ? options.outputDType().orElse(dtype) : dtype;
        }

        private MergePlan assemble() throws RejectedException {
            List<PlannedTensor> tensors = new ArrayList<>();
            int merged = 0;
            int copied = 0;
            int dropped = 0;
            for (TensorInfo t : baseByName.values()) {
                if (droppedHead(t.name())) {
                    dropped++;
                    continue;
                }
                TensorOp op = opsByBaseName.getOrDefault(t.name(), new TensorOp.Copy(TensorSource.base(t.name())));
                if (op instanceof TensorOp.LowRank || op instanceof TensorOp.AddBias) {
                    merged++;
                } else if (op.source().origin() == TensorSource.Origin.BASE) {
                    copied++;
                }
                tensors.add(new PlannedTensor(t.name(), outputDType(t.dtype()), t.shape(), op));
            }
            tensors.addAll(added.values());
            if (dropped > 0) {
                notes.add("dropped " + dropped + " pretraining-head tensors (cls.*, lm_head.*) that a "
                        + cfg.taskType() + " model does not have");
            }
            added.keySet().forEach(n -> notes.add("added " + n + " from modules_to_save (absent from the base)"));
            ObjectNode config = OutputConfig.build(base, cfg, tensors, options, notes);
            tensors = TiedEmbeddings.apply(base, tensors, config, notes);
            return new MergePlan(tensors, config, cfg,
                    new MergePlan.Counts(merged, replaced, added.size(), copied), notes);
        }

        private static String lastSegment(String module) {
            return module.substring(module.lastIndexOf('.') + 1);
        }

    }
}
