package dev.mergeline.core.plan;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Maps module paths of the adapter (the namespace of the model PEFT wrapped, e.g.
 * {@code bert.encoder…} for a sequence classifier) onto tensor names of the base checkpoint, which
 * may be saved from a model class with or without that prefix. One translation serves a whole
 * adapter, so names never mix namespaces.
 *
 * @param description human description ("identity", "strip 'bert.'", "add 'model.'")
 * @param toBase adapter module path → base module path
 * @param toAdapter base module path → adapter module path
 */
public record NameTranslation(String description, UnaryOperator<String> toBase, UnaryOperator<String> toAdapter) {

    public static final NameTranslation IDENTITY =
            new NameTranslation("identity", UnaryOperator.identity(), UnaryOperator.identity());

    /** Candidate translations, identity first. */
    public static List<NameTranslation> candidates(Collection<String> adapterModules, Collection<String> baseNames) {
        Set<String> adapterPrefixes = new LinkedHashSet<>();
        adapterModules.forEach(m -> firstSegment(m).ifPresent(adapterPrefixes::add));
        Set<String> basePrefixes = new LinkedHashSet<>();
        baseNames.forEach(n -> firstSegment(n).ifPresent(basePrefixes::add));
        List<NameTranslation> out = new java.util.ArrayList<>();
        out.add(IDENTITY);
        for (String p : adapterPrefixes) {
            out.add(new NameTranslation("strip '" + p + ".'", m -> strip(p, m), m -> p + "." + m));
        }
        for (String p : basePrefixes) {
            out.add(new NameTranslation("add '" + p + ".'", m -> p + "." + m, m -> strip(p, m)));
        }
        return out;
    }

    private static String strip(String prefix, String name) {
        return name.startsWith(prefix + ".") ? name.substring(prefix.length() + 1) : name;
    }

    private static java.util.Optional<String> firstSegment(String name) {
        int dot = name.indexOf('.');
        return dot <= 0 ? java.util.Optional.empty() : java.util.Optional.of(name.substring(0, dot));
    }
}
