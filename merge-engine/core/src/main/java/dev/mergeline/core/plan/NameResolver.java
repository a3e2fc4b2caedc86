package dev.mergeline.core.plan;

import dev.mergeline.core.hf.ConversionRules;
import dev.mergeline.core.hf.ModelConfig;
import dev.mergeline.core.hf.WeightConversions;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Maps adapter modules, named as PEFT records them (the model in memory: {@code model.language_model.*},
 * {@code lm_head}), onto the base checkpoint's own tensors (on disk: {@code language_model.model.*},
 * {@code language_model.lm_head.weight}) with transformers' conversion rules ({@link WeightConversions}), and
 * explains a module no rule maps.
 */
final class NameResolver {
    private static final int MAX_CANDIDATES = 3;

    private final ModelConfig base;
    private final Collection<String> baseNames;
    private final Optional<ConversionRules> rules;

    NameResolver(ModelConfig base, Collection<String> baseNames) {
        this.base = base;
        this.baseNames = baseNames;
        this.rules = WeightConversions.pinned().rulesFor(base);
    }

    /** transformers' rules for the base, when it has any. */
    Optional<ConversionRules> rules() {
        return rules;
    }

    /**
     * The translation transformers' rules give: every on-disk tensor of the base renamed to its in-memory name
     * (tensors a converter fuses, such as per-expert weights, keep their names: adapters that name them
     * per expert were trained on a module tree with the on-disk names). Empty when transformers has no rule
     * for the base.
     */
    Optional<NameTranslation> translation() {
        if (rules.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> toDisk = new HashMap<>();
        Map<String, String> toMemory = new HashMap<>();
        for (String disk : baseNames) {
            ConversionRules.MemoryName m = rules.get().toMemory(disk);
            if (m.converter().isPresent() || m.memoryName().equals(disk)) {
                continue;
            }
            toDisk.putIfAbsent(m.memoryName(), disk);
            toMemory.putIfAbsent(disk, m.memoryName());
            int dm = m.memoryName().lastIndexOf('.');
            int dd = disk.lastIndexOf('.');
            if (dm > 0 && dd > 0 && m.memoryName().substring(dm).equals(disk.substring(dd))) {
                toDisk.putIfAbsent(m.memoryName().substring(0, dm), disk.substring(0, dd));
                toMemory.putIfAbsent(disk.substring(0, dd), m.memoryName().substring(0, dm));
            }
        }
        return Optional.of(new NameTranslation("transformers' conversion rules of " + rules.get().origin(),
                name -> toDisk.getOrDefault(name, name), name -> toMemory.getOrDefault(name, name)));
    }

    /** Base tensors an unresolved module could have meant: same last three name segments. */
    List<String> candidates(String module) {
        String[] parts = module.split("\\.");
        String tail = String.join(".", List.of(parts).subList(Math.max(0, parts.length - 3), parts.length));
        return baseNames.stream().filter(n -> n.endsWith("." + tail + ".weight") || n.equals(tail + ".weight"))
                .limit(MAX_CANDIDATES).toList();
    }

    /** What rule is missing for {@code module}, in words. */
    String missingRule(String module) {
        List<String> candidates = candidates(module);
        String meant = candidates.isEmpty() ? "no base tensor ends like it"
                : "the base has " + String.join(", ", candidates);
        String rule = rules.map(r -> "no rule of transformers' conversion mapping for " + r.origin() + " ("
                        + WeightConversions.pinned().source() + ") maps " + module + " to them"
                        + (r.unsupportedTypes().isEmpty() ? "" : "; rules of types " + r.unsupportedTypes()
                                + " are not applied by this version"))
                .orElse("transformers' conversion mapping (" + WeightConversions.pinned().source()
                        + ") has no rule for architecture " + base.architecture() + " / model_type "
                        + base.modelType());
        return meant + "; " + rule;
    }

    /** True when some adapter module ends like a base tensor: the adapter fits the base under another naming. */
    boolean anyCandidate(Collection<String> modules) {
        return modules.stream().anyMatch(m -> !candidates(m).isEmpty());
    }
}
