package dev.mergeline.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.PatternSyntaxException;

/**
 * Resolves a parsed adapter config as PEFT 0.21 does when it loads it onto a base model: absent
 * fields take {@code LoraConfig}'s defaults, an absent or null {@code target_modules} takes the
 * default for the base's {@code model_type} (PEFT's {@code _prepare_adapter_config}), and a null
 * PEFT cannot load is refused. Every value that did not come from the file is recorded.
 */
public final class ConfigResolver {

    /** The fields whose value decides merged weights, in the order they are recorded. */
    static final List<String> MERGE_FIELDS = List.of(
            "r", "lora_alpha", "target_modules", "exclude_modules", "layers_to_transform", "layers_pattern",
            "rank_pattern", "alpha_pattern", "use_rslora", "use_dora", "bias", "lora_bias", "modules_to_save",
            "init_lora_weights");

    private final PeftDefaults defaults;

    public ConfigResolver(PeftDefaults defaults) {
        this.defaults = defaults;
    }

    /** A resolver with the pinned PEFT's defaults. */
    public ConfigResolver() {
        this(PeftDefaults.pinned());
    }

    /**
     * @param parsed the config as {@link AdapterConfigParser} read it
     * @param modelType the base's {@code model_type} ({@code ""} when its config.json has none)
     */
    public ResolvedConfig resolve(AdapterConfig parsed, String modelType) throws RejectedException {
        List<Reason> reasons = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = parsed.raw().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            // peft_type is the parser's (it is required)
            if (f.getValue().isNull() && defaults.nullRefused(f.getKey()) && !f.getKey().equals("peft_type")) {
                reasons.add(nullRefused(f.getKey()));
            }
        }
        Map<String, DefaultedField> defaulted = new LinkedHashMap<>();
        for (String field : MERGE_FIELDS) {
            JsonNode v = parsed.raw().get(field);
            if ((v == null || v.isNull()) && !field.equals("target_modules")) {
                defaulted.put(field, defaultFor(field, v != null));
            }
        }
        AdapterConfig config = parsed;
        if (parsed.targetModules() == null) {
            String table = PeftDefaults.TARGET_MODULES_TABLE + "['" + modelType + "']";
            JsonNode targets = defaults.targetModulesFor(modelType).orElse(null);
            if (targets == null) {
                reasons.add(noDefaultTargets(modelType));
            } else {
                try {
                    config = parsed.withTargetModules(selector(targets));
                    defaulted.put("target_modules", new DefaultedField(targets, table));
                } catch (PatternSyntaxException e) {
                    throw new IllegalStateException(table + " is not a regex this engine reads: " + targets, e);
                }
            }
        }
        if (!reasons.isEmpty()) {
            throw new RejectedException(reasons);
        }
        return new ResolvedConfig(config, defaulted);
    }

    private DefaultedField defaultFor(String field, boolean explicitNull) {
        JsonNode peftDefault = defaults.loraDefault(field).orElse(NullNode.getInstance());
        if (!explicitNull || peftDefault.isNull()) {
            return new DefaultedField(peftDefault, "LoraConfig default");
        }
        if (peftDefault.isBoolean()) {
            return new DefaultedField(BooleanNode.FALSE, "null, which PEFT treats as false");
        }
        return new DefaultedField(NullNode.getInstance(), "null, which PEFT keeps (its default "
                + peftDefault + " does not apply)");
    }

    private static ModuleSelector selector(JsonNode targets) {
        if (targets.isTextual()) {
            return new ModuleSelector.Regex(PythonRegex.compile(targets.asText()));
        }
        List<String> names = new ArrayList<>();
        targets.forEach(n -> names.add(n.asText()));
        return new ModuleSelector.Names(names);
    }

    private Reason nullRefused(String field) {
        String dflt = defaults.loraDefault(field).map(JsonNode::toString).orElse("none");
        return new Reason(ReasonCode.ADAPTER_CONFIG_INVALID, field + " is null; PEFT " + defaults.peftVersion()
                + " cannot load an adapter whose " + field + " is null (it does not substitute its default " + dflt
                + "); remove the field to use the default, or set a value", null,
                "a value, or no " + field + " field (default " + dflt + ")", "null", field);
    }

    private Reason noDefaultTargets(String modelType) {
        String type = modelType.isEmpty() ? "(none: the base config.json has no model_type)" : "'" + modelType + "'";
        return new Reason(ReasonCode.ADAPTER_CONFIG_INVALID, "adapter_config.json has no target_modules and PEFT "
                + defaults.peftVersion() + " has no default target modules for model_type " + type
                + "; PEFT refuses to load such an adapter (\"Please specify `target_modules` or `target_parameters`in `peft_config`\")"
                + "; set target_modules to the modules the adapter's weights are for", null,
                "target_modules, or a base model_type with a PEFT default (" + String.join(", ",
                        defaults.modelTypesWithDefaults()) + ")", "model_type " + type, "target_modules");
    }
}
