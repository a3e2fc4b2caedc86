package dev.mergeline.core.peft;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The fields of a PEFT {@code LoraConfig} that affect merged weights, with PEFT 0.21's semantics.
 * Built by {@link AdapterConfigParser}, which rejects what cannot be merged faithfully.
 *
 * @param raw the document as read (recorded in the manifest)
 * @param taskType {@code task_type} or null
 * @param baseModelNameOrPath {@code base_model_name_or_path} or null
 * @param peftVersion {@code peft_version} or null
 * @param r default rank
 * @param loraAlpha default alpha
 * @param useRslora scale by alpha/√r instead of alpha/r
 * @param useDora weight-decomposed LoRA (magnitude vectors)
 * @param targetModules which modules carry LoRA; null when the config names none
 * @param excludeModules modules never targeted; null when none
 * @param layersToTransform layer indexes to target, or null for all
 * @param layersPattern names of the layer container ({@code layers}, {@code h}), or empty for any
 * @param rankPattern per-module ranks, first matching key wins
 * @param alphaPattern per-module alphas, first matching key wins
 * @param modulesToSave modules replaced in full, including the implicit heads of SEQ_CLS/TOKEN_CLS/QUESTION_ANS
 * @param bias which biases were trained and saved ({@code none}, {@code all}, {@code lora_only})
 * @param loraBias whether {@code lora_B} has a bias that is added to the base bias
 */
public record AdapterConfig(
        ObjectNode raw,
        String taskType,
        String baseModelNameOrPath,
        String peftVersion,
        int r,
        double loraAlpha,
        boolean useRslora,
        boolean useDora,
        ModuleSelector targetModules,
        ModuleSelector excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        List<String> modulesToSave,
        String bias,
        boolean loraBias) {

    private static final Pattern FIRST_LAYER_INDEX = Pattern.compile("^.*?\\.[^.]*\\.(\\d+)\\.");

    public AdapterConfig {
        rankPattern = new LinkedHashMap<>(rankPattern);
        alphaPattern = new LinkedHashMap<>(alphaPattern);
        modulesToSave = List.copyOf(modulesToSave);
        layersPattern = List.copyOf(layersPattern);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
    }

    /** This config with {@code target_modules} replaced, as PEFT's default for the base's architecture fills it in. */
    public AdapterConfig withTargetModules(ModuleSelector targets) {
        return new AdapterConfig(raw, taskType, baseModelNameOrPath, peftVersion, r, loraAlpha, useRslora, useDora,
                targets, excludeModules, layersToTransform, layersPattern, rankPattern, alphaPattern, modulesToSave,
                bias, loraBias);
    }

    /** The rank PEFT gives {@code moduleName}: the first {@code rank_pattern} key matching {@code (.*\.)?(key)$}, else r. */
    public int rankFor(String moduleName, RegexBudget budget) {
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            if (patternKeyMatches(e.getKey(), moduleName, budget)) {
                return e.getValue();
            }
        }
        return r;
    }

    /** The alpha PEFT gives {@code moduleName}, by {@code alpha_pattern} like {@link #rankFor}. */
    public double alphaFor(String moduleName, RegexBudget budget) {
        for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
            if (patternKeyMatches(e.getKey(), moduleName, budget)) {
                return e.getValue();
            }
        }
        return loraAlpha;
    }

    /**
     * PEFT's scaling for {@code moduleName}: alpha/r, or alpha/√r with rsLoRA, computed in double
     * as Python does, then rounded to fp32 as torch does when it multiplies an fp32 tensor.
     */
    public float scalingFor(String moduleName, RegexBudget budget) {
        int rank = rankFor(moduleName, budget);
        double alpha = alphaFor(moduleName, budget);
        double s = useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
        return (float) s;
    }

    /**
     * PEFT's {@code check_target_module_exists}: would PEFT have put LoRA on {@code moduleName}? The
     * patterns' reads beyond the free ones come out of {@code budget}, as in every method here that takes one.
     */
    public boolean targets(String moduleName, RegexBudget budget) {
        if (excludeModules != null && excludeModules.matches(moduleName, budget)) {
            return false;
        }
        if (isModuleToSave(moduleName) || targetModules == null) {
            return false;
        }
        if (!targetModules.matches(moduleName, budget)) {
            return false;
        }
        if (targetModules instanceof ModuleSelector.Names && layersToTransform != null && !layersToTransform.isEmpty()) {
            Integer index = layerIndex(moduleName, budget);
            return index != null && layersToTransform.contains(index);
        }
        return true;
    }

    /** Whether {@code moduleName} is (inside) a module of {@code modules_to_save}: {@code (^|.*\.)m($|\..*)}. */
    public boolean isModuleToSave(String moduleName) {
        for (String m : modulesToSave) {
            if (moduleName.equals(m) || moduleName.startsWith(m + ".") || moduleName.endsWith("." + m)
                    || moduleName.contains("." + m + ".")) {
                return true;
            }
        }
        return false;
    }

    /** PEFT's layer index: the first numbered segment after a {@code layers_pattern} name (or any name). */
    private Integer layerIndex(String moduleName, RegexBudget budget) {
        if (layersPattern.isEmpty()) {
            var m = FIRST_LAYER_INDEX.matcher(moduleName);
            return m.lookingAt() ? layerNumber(m.group(1)) : null;
        }
        for (String p : layersPattern) {
            var index = layerIndexRegex(p).groupAtStart(moduleName, 1, budget);
            if (index.isPresent()) {
                return layerNumber(index.get());
            }
        }
        return null;
    }

    /** The regex PEFT builds from one {@code layers_pattern} entry; PatternSyntaxException if it is not one. */
    static PythonRegex layerIndexRegex(String layersPattern) {
        return PythonRegex.compile("(?:^|.*?\\.)" + layersPattern + "\\.(\\d+)\\.");
    }

    /**
     * A layer number from a module name; a number beyond int range (a hostile tensor name) is a layer
     * that no {@code layers_to_transform} entry can name, so it is no layer index at all.
     */
    private static Integer layerNumber(String digits) {
        java.math.BigInteger n = new java.math.BigInteger(digits);
        return n.bitLength() < Integer.SIZE ? Integer.valueOf(n.intValue()) : null;
    }

    private static boolean patternKeyMatches(String key, String moduleName, RegexBudget budget) {
        return PythonRegex.compile("(.*\\.)?(" + key + ")$").matchAtStart(moduleName, budget);
    }
}
