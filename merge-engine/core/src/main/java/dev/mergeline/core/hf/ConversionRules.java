package dev.mergeline.core.hf;

import java.util.List;
import java.util.Optional;

/**
 * The ordered conversion rules of one model, and transformers' way of applying them to an on-disk key:
 * every renaming in turn (they chain), then at most one converter.
 *
 * @param origin where the rules come from ("Gemma3ForConditionalGeneration", "model_type mixtral")
 * @param transforms in transformers' order
 */
public record ConversionRules(String origin, List<WeightTransform> transforms) {

    /**
     * The in-memory name of an on-disk tensor.
     *
     * @param memoryName the key after every renaming and the converter, if one matched
     * @param converter the converter that matched (the tensor is then one part of a fused parameter)
     * @param sourceIndex which of the converter's sources matched (its place in a concatenation)
     */
    public record MemoryName(String memoryName, Optional<WeightTransform> converter, int sourceIndex) {}

    /** transformers' {@code rename_source_key} in the loading direction; unsupported rules are skipped. */
    public MemoryName toMemory(String diskKey) {
        String key = diskKey;
        for (WeightTransform t : transforms) {
            if (t.supported() && !t.isConverter()) {
                key = t.rename(key).key();
            }
        }
        for (WeightTransform t : transforms) {
            if (t.supported() && t.isConverter()) {
                WeightTransform.Renamed r = t.rename(key);
                if (r.matched()) {
                    return new MemoryName(r.key(), Optional.of(t), r.sourceIndex());
                }
            }
        }
        return new MemoryName(key, Optional.empty(), -1);
    }

    /** Types of the rules the engine skips (stateful or tensor-splitting renames), for rejection messages. */
    public List<String> unsupportedTypes() {
        return transforms.stream().filter(t -> !t.supported()).map(WeightTransform::type).distinct().toList();
    }
}
