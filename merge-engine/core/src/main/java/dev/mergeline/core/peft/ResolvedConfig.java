package dev.mergeline.core.peft;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter config as PEFT 0.21 uses it on a given base, and which of its values came from defaults.
 *
 * @param config the config with every default applied ({@code target_modules} included)
 * @param defaults the fields that were absent or null, by name, with the value PEFT uses
 */
public record ResolvedConfig(AdapterConfig config, Map<String, DefaultedField> defaults) {

    public ResolvedConfig {
        defaults = Collections.unmodifiableMap(new LinkedHashMap<>(defaults));
    }

    /** Whether {@code target_modules} was taken from PEFT's per-architecture table. */
    public boolean targetModulesDefaulted() {
        return defaults.containsKey("target_modules");
    }

    /**
     * The reasons, with those about untargeted weights saying where {@code target_modules} came from
     * when the file had none.
     */
    public List<Reason> explain(List<Reason> reasons) {
        DefaultedField targets = defaults.get("target_modules");
        if (targets == null) {
            return reasons;
        }
        return reasons.stream().map(r -> r.code() == ReasonCode.ADAPTER_CONFIG_INVALID
                && "target_modules".equals(r.detail())
                ? new Reason(r.code(), r.message() + " (adapter_config.json has no target_modules, so PEFT uses "
                        + targets.source() + " = " + targets.value() + ")", r.tensor(), r.expected(), r.actual(),
                        r.detail())
                : r).toList();
    }
}
