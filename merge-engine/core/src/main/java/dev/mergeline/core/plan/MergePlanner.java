package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.hf.EmbeddingNames;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.ModuleSelector;
import dev.mergeline.core.peft.RegexBudget;
import dev.mergeline.core.quant.BaseQuantization;
import dev.mergeline.core.quant.Fp8BlockScaling;
import dev.mergeline.core.plan.AdapterTensorName.Role;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsException;
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
     * Plans one merge. Every match of the config's patterns in it shares one
     * {@link RegexBudget#perValidation()}; past it, {@code PythonRegex.RegexBudgetExceededException}.
     *
     * @param outputDType cast every floating-point tensor to this type (as loading the base with
     *     {@code torch_dtype=...} would), or empty to keep each tensor's own dtype
     */
    public MergePlan plan(AdapterConfig cfg, List<TensorInfo> adapterTensors, ModelConfig base,
            List<TensorInfo> baseTensors, Optional<DType> outputDType) throws RejectedException {
        return new Run(cfg, adapterTensors, base, baseTensors, outputDType).plan();
    }

    /** The LoRA tensors of one module. */
    private static final class ModuleTensors {
        final Map<Role, TensorInfo> byRole = new EnumMap<>(Role.class);
    }

    private static final class Run {
        private final AdapterConfig cfg;
        private final ModelConfig base;
        private final Optional<DType> outputDType;
        /** Shared by every match of the config's patterns in this plan. */
        private final RegexBudget regexBudget = RegexBudget.perValidation();
        private final Map<String, TensorInfo> baseByName = new LinkedHashMap<>();
        private final Map<String, TensorInfo> adapterByName = new LinkedHashMap<>();
        private final Map<String, ModuleTensors> loraModules = new LinkedHashMap<>();
        private final List<AdapterTensorName> fullTensors = new ArrayList<>();
        /** trainable_token_indices rows by adapter module. */
        private final Map<String, TensorInfo> tokenRows = new LinkedHashMap<>();
        /** Base tensor name → shape of the adapter's whole replacement that grows it (added tokens). */
        private final Map<String, List<Long>> grownShapes = new LinkedHashMap<>();
        private final Optional<EmbeddingNames> embeddings;
        private TokenIndices tokenIndices = TokenIndices.NONE;
        private int ignored;
        private final List<Reason> reasons = new ArrayList<>();
        private final Map<String, TensorOp> opsByBaseName = new LinkedHashMap<>();
        private final Map<String, PlannedTensor> added = new LinkedHashMap<>();
        private final List<String> notes = new ArrayList<>();
        private NameTranslation names = NameTranslation.IDENTITY;
        private final NameResolver resolver;
        /** LoRA on parameters (target_parameters); its factors are not in loraModules. */
        private final ParamWrappers paramWrappers;
        /** Per-expert LoRA that PEFT converts onto fused experts. */
        private final LegacyExperts legacyExperts;
        private int replaced;
        /** The base's FP8 block scaling, when its quantization_config is one Mergeline merges into. */
        private Optional<Fp8BlockScaling> fp8 = Optional.empty();

        Run(AdapterConfig cfg, List<TensorInfo> adapterTensors, ModelConfig base, List<TensorInfo> baseTensors,
                Optional<DType> outputDType) {
            this.cfg = cfg;
            this.base = base;
            this.outputDType = outputDType;
            baseTensors.forEach(t -> keepFirst(baseByName, t.name(), t, "the base"));
            this.resolver = new NameResolver(base, baseByName.keySet());
            adapterTensors.forEach(t -> keepFirst(adapterByName, t.name(), t, "the adapter"));
            embeddings = EmbeddingNames.find(baseByName.keySet());
            paramWrappers = new ParamWrappers(cfg, base, baseByName,
                    MemoryParameters.of(resolver.rules(), baseByName), resolver, regexBudget);
            legacyExperts = new LegacyExperts(cfg, base, resolver.rules(), regexBudget);
            for (TensorInfo t : adapterByName.values()) {
                if (paramWrappers.claim(t)) {
                    continue;
                }
                AdapterTensorName key = AdapterTensorName.parse(t.name());
                switch (key.role()) {
                    // Whole tensors under two spellings are PEFT's own (a modules_to_save copy beside a
                    // plain one): chooseFullTensors keeps the one PEFT loads.
                    case FULL -> fullTensors.add(key);
                    case TOKEN_ROWS -> tokenRows.put(key.module(), t);
                    case ORIGINAL_MODULE -> ignored++;
                    case UNKNOWN -> reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, t.name(),
                            "adapter tensor " + t.name() + " is not a LoRA tensor this version understands"));
                    default -> {
                        TensorInfo other = loraModules.computeIfAbsent(key.module(), m -> new ModuleTensors()).byRole
                                .putIfAbsent(key.role(), t);
                        if (other != null) {
                            reasons.add(sameTensorTwice(other.name(), t.name(), "hold the " + key.role()
                                    + " tensor of module " + key.module()));
                        }
                    }
                }
            }
            adapterTensors.forEach(this::checkAdapterDType);
        }

        MergePlan plan() throws RejectedException {
            if (base.quantized()) {
                fp8 = BaseQuantization.check(base.raw().get("quantization_config"), baseByName, reasons);
                if (fp8.isEmpty()) {
                    throw new RejectedException(reasons);
                }
            }
            chooseTranslation();
            tokenIndices = TokenIndices.parse(cfg.raw(), reasons);
            chooseFullTensors();
            if (!loraModules.isEmpty() && resolvedLoraModules(names) == 0 && resolver.anyCandidate(loraModules.keySet())) {
                loraModules.keySet().forEach(m -> reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, m,
                        "no naming of the base has " + m + ": " + resolver.missingRule(m))));
                throw new RejectedException(reasons);
            }
            if (!loraModules.isEmpty() && resolvedLoraModules(names) == 0) {
                String example = loraModules.keySet().iterator().next();
                reasons.add(Reason.mismatch(ReasonCode.ARCHITECTURE_MISMATCH, example,
                        "none of the adapter's " + loraModules.size() + " LoRA modules exists in the base (e.g. "
                                + example + "); the adapter was trained on another architecture",
                        "a base with module " + example, base.architecture()));
                throw new RejectedException(reasons);
            }
            loraModules.forEach(this::planModule);
            paramWrappers.plan(opsByBaseName, reasons, notes);
            fullTensors.forEach(this::planFull);
            planTokenRows();
            checkTargetsHaveKeys();
            if (!reasons.isEmpty()) {
                throw new RejectedException(reasons);
            }
            return assemble();
        }


        /**
         * Keeps the first tensor of a name; a second one is a rejection (the name lists of one
         * checkpoint must be unique, whichever reader built them), never a silent choice.
         */
        private void keepFirst(Map<String, TensorInfo> byName, String name, TensorInfo t, String where) {
            if (byName.putIfAbsent(name, t) != null) {
                reasons.add(new Reason(ReasonCode.SAFETENSORS_HEADER_INVALID, where + " lists tensor " + name
                        + " twice; which one a reader keeps is undefined", name, "one tensor named " + name,
                        "two", SafetensorsException.Reason.DUPLICATE_KEY.name()));
            }
        }

        /** Two adapter tensors that name the same thing under two spellings (with and without an adapter name). */
        private static Reason sameTensorTwice(String first, String second, String what) {
            return new Reason(ReasonCode.SAFETENSORS_HEADER_INVALID, "adapter tensors " + first + " and " + second
                    + " both " + what + "; which one PEFT would load is undefined", second, "one of them", "both",
                    SafetensorsException.Reason.DUPLICATE_KEY.name());
        }

        private void checkAdapterDType(TensorInfo t) {
            if (!t.dtype().isMergeable()) {
                reasons.add(Reason.mismatch(ReasonCode.DTYPE_UNSUPPORTED, t.name(),
                        "adapter tensor " + t.name() + " has dtype " + t.dtype(), "F32, F16 or BF16", t.dtype()));
            }
        }

        private void chooseTranslation() {
            int best = -1;
            List<NameTranslation> candidates = new ArrayList<>(
                    NameTranslation.candidates(allAdapterModules(), baseByName.keySet()));
            resolver.translation().ifPresent(candidates::add);
            for (NameTranslation candidate : candidates) {
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
            all.addAll(tokenRows.keySet());
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
                        "the adapter has LoRA weights for " + module + " but the base has no tensor " + weightName
                                + "; " + resolver.missingRule(module)));
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
            List<Long> shape = grownShapes.getOrDefault(weightName, w.shape());
            long rows = shape.get(0);
            long cols = shape.get(1);
            // in/out features of the layer, in PEFT's terms
            long in = kind == ModuleKind.LINEAR ? cols : rows;
            long out = kind == ModuleKind.LINEAR ? rows : cols;
            if (isEmbedding(weightName) && kind != ModuleKind.CONV1D && a.rank() == 2 && b.rank() == 2) {
                TensorInfo vocabFactor = kind == ModuleKind.EMBEDDING ? a : b;
                long vocab = kind == ModuleKind.EMBEDDING ? a.shape().get(1) : b.shape().get(0);
                if (vocab > rows) {
                    reasons.add(AddedTokens.loraOnGrownEmbedding(vocabFactor.name(), weightName, rows, vocab));
                    return;
                }
            }
            if (!checkPair(module, a, b, in, out)) {
                return;
            }
            Optional<LegacyExperts.Decision> legacy = legacyExperts.plan(module, weightName, w, a, b, reasons);
            if (legacy.isPresent()) {
                if (legacy.get().op() != null) {
                    opsByBaseName.put(weightName, legacy.get().op());
                }
                return;
            }
            int rank = a.shape().get(0).intValue();
            float scale = cfg.scalingFor(module, regexBudget);
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
                return cfg.targets(module, regexBudget);
            }
            boolean outputEmbedding = EmbeddingNames.find(baseByName.keySet())
                    .map(e -> e.output().equals(weightName)).orElse(false);
            return !embedding && !outputEmbedding && cfg.targets(module, regexBudget);
        }

        private boolean checkBaseWeight(TensorInfo w) {
            if (w.dtype().isMergeable() || (fp8.isPresent() && w.dtype() == DType.F8_E4M3)) {
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
            int expectedRank = cfg.rankFor(module, regexBudget);
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

        private void planFull(AdapterTensorName key) {
            String baseName = names.toBase().apply(key.fullName());
            TensorInfo target = baseByName.get(baseName);
            TensorInfo source = adapterInfo(key);
            if (target == null) {
                if (isTiedOutputBesideCopiedInput(baseName)) {
                    // A tied base whose input embedding is a modules_to_save copy: PEFT loads the adapter's
                    // output embedding into the (no longer shared) original weight, which lm_head keeps.
                    TensorInfo input = baseByName.get(embeddings.get().input());
                    if (source.rank() != 2 || !source.shape().get(1).equals(input.shape().get(1))) {
                        reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, key.tensor(), "output embedding "
                                + key.tensor() + " does not have the columns of " + input.name(),
                                List.of(source.shape().get(0), input.shape().get(1)), source.shape()));
                        return;
                    }
                    added.put(baseName, new PlannedTensor(baseName, outputDType(input.dtype()), source.shape(),
                            new TensorOp.Copy(TensorSource.adapter(key.tensor()))));
                } else if (cfg.isModuleToSave(key.module())) {
                    DType dtype = outputDType.orElse(base.dtype().filter(DType::isMergeable)
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
            if (!target.shape().equals(source.shape()) && !grownShapes.containsKey(baseName)) {
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
                        lr.rank(), lr.scale(), lr.magnitude(), lr.parameter()));
            } else if (existing instanceof TensorOp.AddBias ab) {
                opsByBaseName.put(baseName, new TensorOp.AddBias(replacement, ab.loraBBias(), ab.scale()));
            } else {
                opsByBaseName.put(baseName, new TensorOp.Copy(replacement));
            }
        }

        /**
         * Keeps one whole replacement per base tensor, the one PEFT loads: a {@code modules_to_save}
         * copy over the saved base layer ({@code base_layer}/{@code token_adapter}) over a plain
         * copy of the same module; drops the tied mirror {@code save_embedding_layers} writes for a
         * tied output embedding wrapped by {@code trainable_token_indices}; records grown embeddings.
         */
        private void chooseFullTensors() {
            Map<String, AdapterTensorName> chosen = new LinkedHashMap<>();
            for (AdapterTensorName key : fullTensors) {
                String baseName = names.toBase().apply(key.fullName());
                if (key.tokenAdapter() && isTiedOutput(baseName)) {
                    ignored++;
                    continue;
                }
                AdapterTensorName previous = chosen.get(baseName);
                if (previous == null || precedence(key) > precedence(previous)) {
                    chosen.put(baseName, key);
                }
                if (previous != null) {
                    ignored++;
                }
            }
            fullTensors.clear();
            fullTensors.addAll(chosen.values());
            for (Map.Entry<String, AdapterTensorName> e : chosen.entrySet()) {
                TensorInfo target = baseByName.get(e.getKey());
                TensorInfo source = adapterInfo(e.getValue());
                if (target != null && isEmbedding(e.getKey()) && AddedTokens.grows(target, source.shape())) {
                    grownShapes.put(e.getKey(), source.shape());
                }
            }
        }

        private static int precedence(AdapterTensorName key) {
            if (key.moduleToSaveCopy()) {
                return 2;
            }
            return key.tokenAdapter() || key.tensor().contains(".base_layer.") ? 1 : 0;
        }

        private boolean isEmbedding(String baseName) {
            return embeddings.map(e -> e.input().equals(baseName) || e.output().equals(baseName)).orElse(false);
        }

        private boolean isTiedOutput(String baseName) {
            return base.tieWordEmbeddings() && embeddings.map(e -> e.output().equals(baseName)).orElse(false);
        }

        private boolean isTiedOutputBesideCopiedInput(String baseName) {
            return isTiedOutput(baseName) && !baseByName.containsKey(baseName) && fullTensors.stream()
                    .anyMatch(k -> k.moduleToSaveCopy() && names.toBase().apply(k.fullName()).equals(embeddings.get().input()));
        }

        /** {@code trainable_token_indices}: each saved row block overwrites its rows of the (replaced) weight. */
        private void planTokenRows() {
            if (tokenRows.isEmpty() && tokenIndices.isEmpty()) {
                return;
            }
            String inputName = embeddings.map(EmbeddingNames::input).orElse(null);
            for (Map.Entry<String, TensorInfo> e : tokenRows.entrySet()) {
                String module = e.getKey();
                TensorInfo rows = e.getValue();
                String weightName = names.toBase().apply(module) + ".weight";
                if (isTiedOutput(weightName)) {
                    ignored++; // PEFT ties the output's token adapter to the input embedding's
                    continue;
                }
                Optional<List<Integer>> indices = tokenIndices.forModule(module, weightName.equals(inputName));
                if (indices.isEmpty()) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_CONFIG_INVALID, rows.name(), "the adapter has trained"
                            + " token rows " + rows.name() + " but its trainable_token_indices does not name " + module));
                    continue;
                }
                TensorInfo w = baseByName.get(weightName);
                if (w == null) {
                    reasons.add(Reason.about(ReasonCode.TARGET_MODULE_NOT_FOUND, rows.name(), "trainable token rows "
                            + rows.name() + " apply to " + weightName + ", which the base lacks"));
                    continue;
                }
                if (!checkBaseWeight(w)) {
                    continue;
                }
                TensorOp existing = opsByBaseName.get(weightName);
                if (existing != null && !(existing instanceof TensorOp.Copy)) {
                    reasons.add(Reason.about(ReasonCode.PEFT_VARIANT_UNSUPPORTED, rows.name(), "module " + module
                            + " has both LoRA and trainable_token_indices, which PEFT does not allow"));
                    continue;
                }
                List<Long> shape = grownShapes.getOrDefault(weightName, w.shape());
                if (checkTokenRows(rows, indices.get(), shape)) {
                    TensorSource source = existing == null ? TensorSource.base(weightName) : existing.source();
                    opsByBaseName.put(weightName, new TensorOp.ReplaceRows(source, rows.name(), indices.get()));
                    notes.add("trainable_token_indices: " + indices.get().size() + " rows of " + weightName
                            + " replaced by " + rows.name());
                }
            }
            checkIndicesHaveRows(inputName);
        }

        private boolean checkTokenRows(TensorInfo rows, List<Integer> indices, List<Long> weightShape) {
            List<Long> expected = List.of((long) indices.size(), weightShape.get(1));
            if (!rows.shape().equals(expected)) {
                reasons.add(Reason.mismatch(ReasonCode.TENSOR_SHAPE_MISMATCH, rows.name(), "trained token rows "
                        + rows.name() + " must hold one row per index of trainable_token_indices", expected, rows.shape()));
                return false;
            }
            long limit = weightShape.get(0);
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int i : indices) {
                if (i >= limit || !seen.add(i)) {
                    reasons.add(Reason.mismatch(ReasonCode.ADAPTER_CONFIG_INVALID, rows.name(), "trainable_token_indices"
                            + " for " + rows.name() + (i >= limit ? " names token " + i + " beyond the embedding's "
                            + limit + " rows" : " names token " + i + " twice"), "distinct indices < " + limit, i));
                    return false;
                }
            }
            return true;
        }

        /** Every module trainable_token_indices names needs its saved rows (a tied output shares the input's). */
        private void checkIndicesHaveRows(String inputName) {
            List<String> baseModules = tokenRows.keySet().stream().map(m -> names.toBase().apply(m)).toList();
            if (tokenIndices.inputEmbedding().isPresent() && inputName != null
                    && !baseModules.contains(inputName.substring(0, inputName.length() - ".weight".length()))) {
                reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, inputName, "trainable_token_indices is set"
                        + " but the adapter has no trained rows (token_adapter.trainable_tokens_delta) for " + inputName));
            }
            for (String key : tokenIndices.byModule().keySet()) {
                boolean tiedOutput = embeddings.isPresent() && base.tieWordEmbeddings()
                        && TokenIndices.names(embeddings.get().output().replaceFirst("\\.weight$", ""), key);
                if (!tiedOutput && baseModules.stream().noneMatch(m -> TokenIndices.names(m, key))) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, key, "trainable_token_indices names "
                            + key + " but the adapter has no trained rows (token_adapter.trainable_tokens_delta) for it"));
                }
            }
        }

        private TensorInfo adapterInfo(AdapterTensorName key) {
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
                if (cfg.targets(module, regexBudget) && !loraModules.containsKey(module)) {
                    reasons.add(Reason.about(ReasonCode.ADAPTER_KEYS_MISSING, module, "the config targets " + module
                            + " but the adapter file has no LoRA tensors for it (the merge would silently skip it)"));
                }
            }
        }

        private boolean droppedHead(String baseName) {
            return cfg.taskType() != null && HEAD_TASKS.contains(cfg.taskType()) && PRETRAINING_HEADS.stream().anyMatch(baseName::startsWith);
        }

        private DType outputDType(DType dtype) {
            return dtype.isMergeable() ? outputDType.orElse(dtype) : dtype;
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
                if (op instanceof TensorOp.LowRank || op instanceof TensorOp.AddBias || op instanceof TensorOp.ReplaceRows) {
                    merged++;
                } else if (op.source().origin() == TensorSource.Origin.BASE) {
                    copied++;
                }
                tensors.add(new PlannedTensor(t.name(), outputDType(t.dtype()), grownShapes.getOrDefault(t.name(), t.shape()), op));
            }
            tensors.addAll(added.values());
            if (ignored > 0) {
                notes.add("ignored " + ignored + " adapter tensors PEFT does not merge (modules_to_save originals, "
                        + "duplicate copies, tied mirrors)");
            }
            if (dropped > 0) {
                notes.add("dropped " + dropped + " pretraining-head tensors (cls.*, lm_head.*) that a "
                        + cfg.taskType() + " model does not have");
            }
            added.keySet().forEach(n -> notes.add("added " + n + " from modules_to_save (absent from the base)"));
            Optional<Long> vocabulary = Optional.empty();
            if (embeddings.isPresent()) {
                vocabulary = AddedTokens.check(embeddings.get(), baseByName, tensors, base.tieWordEmbeddings(), reasons);
                if (!reasons.isEmpty()) {
                    throw new RejectedException(reasons);
                }
            }
            ObjectNode config = OutputConfig.build(base, cfg, tensors, outputDType, notes);
            if (vocabulary.isPresent()) {
                AddedTokens.updateConfig(config, baseByName.get(embeddings.get().input()).shape().get(0),
                        vocabulary.get(), notes);
            }
            tensors = TiedEmbeddings.apply(base, tensors, config, notes);
            if (fp8.isPresent()) {
                tensors = Fp8Planning.apply(tensors, baseByName, fp8.get(), outputDType
                        .orElse(base.dtype().filter(DType::isMergeable).orElse(DType.BF16)), outputDType, reasons);
                if (!reasons.isEmpty()) {
                    throw new RejectedException(reasons);
                }
                if (outputDType.isPresent()) {
                    config.remove("quantization_config");
                    notes.add("FP8 weights dequantized to " + outputDType.get().torchName()
                            + "; quantization_config removed");
                }
            }
            return new MergePlan(tensors, config, cfg,
                    new MergePlan.Counts(merged, replaced, added.size(), copied), notes,
                    vocabulary.map(rows -> new VocabularyGrowth(embeddings.get().input(),
                            baseByName.get(embeddings.get().input()).shape().get(0), rows)));
        }

        private static String lastSegment(String module) {
            return module.substring(module.lastIndexOf('.') + 1);
        }

    }
}
