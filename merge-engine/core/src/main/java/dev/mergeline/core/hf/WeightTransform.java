package dev.mergeline.core.hf;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One rule of transformers' {@code conversion_mapping.py} ({@code WeightRenaming}, {@code PrefixChange} or
 * {@code WeightConverter}), applied in the direction transformers loads: on-disk name → in-memory name.
 *
 * @param type the transformers class name
 * @param sources source patterns as transformers processed them
 * @param targets target patterns ({@code \1} stands for the matched branch's first group)
 * @param regex the compiled alternation of the sources, one named group {@code gN} per source
 * @param operations the converter's tensor operations (empty for renamings)
 * @param scopePrefix sub-module the rule is scoped to ("" = root sub-model), empty when unscoped
 * @param baseModelPrefix the model's {@code base_model_prefix} for scoped rules
 * @param supported false for transform types whose semantics the engine does not implement
 */
public record WeightTransform(
        String type,
        List<String> sources,
        List<String> targets,
        Pattern regex,
        List<Operation> operations,
        Optional<String> scopePrefix,
        String baseModelPrefix,
        boolean supported) {

    /**
     * A tensor operation of a converter ({@code MergeModulelist}, {@code Concatenate}, {@code Transpose}, …).
     *
     * @param checkDims for {@code Transpose}: transformers transposes only when the on-disk shape differs from the
     *     parameter's (so a checkpoint saved in the in-memory layout loads as it is)
     */
    public record Operation(String op, int dim, int dim0, int dim1, boolean checkDims) {
        public Operation(String op, int dim, int dim0, int dim1) {
            this(op, dim, dim0, dim1, false);
        }
    }

    /** The rename of one key: the new key and, when this rule matched, the index of the source that matched. */
    public record Renamed(String key, int sourceIndex) {
        public boolean matched() {
            return sourceIndex >= 0;
        }
    }

    public boolean isConverter() {
        return type.equals("WeightConverter");
    }

    /** transformers' {@code WeightTransform.rename_source_key}: scope, search, replace the first occurrence. */
    public Renamed rename(String key) {
        String prefix = null;
        String toMatch = key;
        if (scopePrefix.isPresent()) {
            String scope = scopePrefix.get().isEmpty() ? "" : scopePrefix.get() + ".";
            String base = baseModelPrefix.isEmpty() ? "" : baseModelPrefix + ".";
            if (key.startsWith(base + scope)) {
                prefix = base + scope;
            } else if (key.startsWith(scope)) {
                prefix = scope;
            } else {
                return new Renamed(key, -1);
            }
            toMatch = key.substring(prefix.length());
        }
        Matcher m = regex.matcher(toMatch);
        if (!m.find()) {
            return new Renamed(key, -1);
        }
        int source = matchedSource(m);
        String replacement = targets.get(0);
        if (replacement.contains("\\1")) {
            int groupStart = groupIndex(m, source);
            replacement = replacement.replace("\\1", m.group(groupStart + 1));
        }
        String renamed = toMatch.replaceFirst(Pattern.quote(m.group()), Matcher.quoteReplacement(replacement));
        return new Renamed(prefix == null ? renamed : prefix + renamed, source);
    }

    private int matchedSource(Matcher m) {
        for (int i = 0; i < sources.size(); i++) {
            if (m.group("g" + i) != null) {
                return i;
            }
        }
        throw new IllegalStateException("no branch of " + regex + " matched");
    }

    /** The number of the capturing group {@code gN}: Java numbers named groups like Python does. */
    private static int groupIndex(Matcher m, int source) {
        String name = "g" + source;
        for (int g = 1; g <= m.groupCount(); g++) {
            if (m.start(g) == m.start(name) && m.end(g) == m.end(name) && m.start(g) >= 0) {
                return g;
            }
        }
        throw new IllegalStateException("group " + name + " not found");
    }
}
