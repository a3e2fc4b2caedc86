package dev.mergeline.core.peft;

import java.util.List;

/**
 * {@code target_modules} or {@code exclude_modules}: a list of names (a module matches when its
 * name equals an entry or ends with {@code "." + entry}), a Python regex (full match), or PEFT's
 * {@code "all-linear"} shorthand.
 */
public sealed interface ModuleSelector {

    /** Whether {@code moduleName} is selected; a regex takes its reads from {@code budget}. */
    boolean matches(String moduleName, RegexBudget budget);

    /** The selector as it would be written in {@code adapter_config.json}, for messages. */
    String describe();

    /** A list of module names or suffixes. */
    record Names(List<String> names) implements ModuleSelector {
        public Names {
            names = List.copyOf(names);
        }

        @Override
        public boolean matches(String moduleName, RegexBudget budget) {
            for (String n : names) {
                if (moduleName.equals(n) || moduleName.endsWith("." + n)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String describe() {
            return names.toString();
        }
    }

    /** A regular expression that must match the whole module name. */
    record Regex(PythonRegex regex) implements ModuleSelector {
        @Override
        public boolean matches(String moduleName, RegexBudget budget) {
            return regex.fullMatch(moduleName, budget);
        }

        @Override
        public String describe() {
            return "regex '" + regex.source() + "'";
        }
    }

    /**
     * {@code "all-linear"}: every linear layer except the output layer. Module types are not in the
     * headers, so this selector matches every name; the planner excludes what PEFT's expansion never
     * targets (embeddings, the output embedding) from the adapter's LoRA tensors.
     */
    record AllLinear() implements ModuleSelector {
        @Override
        public boolean matches(String moduleName, RegexBudget budget) {
            return true;
        }

        @Override
        public String describe() {
            return "all-linear";
        }
    }
}
