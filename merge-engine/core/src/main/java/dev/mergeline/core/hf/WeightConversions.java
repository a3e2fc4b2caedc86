package dev.mergeline.core.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * transformers' checkpoint conversion rules ({@code conversion_mapping.py} of the pinned transformers), as
 * written by {@code merge-engine/fixtures/generate_weight_conversions.py} into {@code weight_conversions.json}.
 * They relate the two namings of a model's weights: on disk (what checkpoints carry and {@code save_pretrained}
 * writes) and in memory (the module names PEFT records in adapters).
 */
public final class WeightConversions {
    public static final String RESOURCE = "weight_conversions.json";

    private static final WeightConversions PINNED = load();

    private final JsonNode data;

    private WeightConversions(JsonNode data) {
        this.data = data;
    }

    /** The rules of the pinned transformers, read once from the classpath. */
    public static WeightConversions pinned() {
        return PINNED;
    }

    /** "transformers 5.17.0 conversion_mapping.py". */
    public String source() {
        return data.path("source").asText();
    }

    /**
     * The rules transformers applies when it loads a checkpoint of this model: the list it assembles for the
     * architecture class (with sub-model scopes) when the generator could build that class, else the list of
     * the {@code model_type} (aliases expanded), unscoped. Empty when transformers has no rule for the model
     * (its two namings are the same).
     */
    public Optional<ConversionRules> rulesFor(ModelConfig config) {
        JsonNode arch = data.path("architectures").path(config.architecture());
        if (arch.isObject()) {
            return Optional.of(new ConversionRules(config.architecture(), parse(arch.path("transforms"))));
        }
        JsonNode byType = data.path("mappings").path(config.modelType());
        if (byType.isArray() && !config.modelType().isEmpty()) {
            return Optional.of(new ConversionRules("model_type " + config.modelType(), parse(byType)));
        }
        return Optional.empty();
    }

    /**
     * Whether transformers marks the experts module {@code module} (in-memory name) of this architecture
     * {@code is_transposed}: its fused parameters are stored [experts, in, out] and PEFT's {@code ParamWrapper} keeps
     * in and out features in that order (gpt-oss). False for architectures the generator could not build.
     */
    public boolean transposedExperts(ModelConfig config, String module) {
        for (JsonNode pattern : data.path("transposed_experts").path(config.architecture())) {
            String regex = java.util.Arrays.stream(pattern.asText().split("\\*", -1)).map(Pattern::quote)
                    .collect(java.util.stream.Collectors.joining("\\d+"));
            if (module.matches(regex)) {
                return true;
            }
        }
        return false;
    }

    /** How PEFT converts adapters of transformers 4's per-expert layout for this model type, if it does. */
    public Optional<PeftMoeConversion> peftMoeConversion(String modelType) {
        JsonNode conversion = data.path("peft_moe_conversion");
        String pattern = conversion.path("model_types").path(modelType).asText("");
        if (pattern.isEmpty()) {
            return Optional.empty();
        }
        java.util.Map<String, String> targets = new java.util.LinkedHashMap<>();
        conversion.path("target_modules").path(pattern).fields()
                .forEachRemaining(e -> targets.put(e.getKey(), e.getValue().asText()));
        java.util.Map<String, List<String>> fused = new java.util.LinkedHashMap<>();
        conversion.path("fused_targets").path(pattern).fields().forEachRemaining(e -> {
            List<String> modules = new ArrayList<>();
            e.getValue().forEach(m -> modules.add(m.asText()));
            fused.put(e.getKey(), List.copyOf(modules));
        });
        return Optional.of(new PeftMoeConversion(conversion.path("source").asText(), targets, fused));
    }

    private static List<WeightTransform> parse(JsonNode transforms) {
        List<WeightTransform> out = new ArrayList<>();
        for (JsonNode t : transforms) {
            List<String> sources = new ArrayList<>();
            t.path("sources").forEach(s -> sources.add(s.asText()));
            List<String> targets = new ArrayList<>();
            t.path("targets").forEach(s -> targets.add(s.asText()));
            List<WeightTransform.Operation> ops = new ArrayList<>();
            t.path("operations").forEach(o -> ops.add(new WeightTransform.Operation(o.path("op").asText(),
                    o.path("dim").asInt(0), o.path("dim0").asInt(0), o.path("dim1").asInt(1),
                    o.path("check_dims").asBoolean(false))));
            JsonNode scope = t.get("scope_prefix");
            String type = t.path("type").asText();
            boolean supported = t.path("supported").asBoolean(true);
            Pattern regex;
            try {
                regex = Pattern.compile(t.path("regex").asText().replace("(?P<", "(?<"));
            } catch (java.util.regex.PatternSyntaxException e) {
                regex = Pattern.compile("(?<g0>$^)");
                supported = false;
            }
            out.add(new WeightTransform(type, List.copyOf(sources), List.copyOf(targets), regex, List.copyOf(ops),
                    scope == null || scope.isNull() ? Optional.empty() : Optional.of(scope.asText()),
                    t.path("base_model_prefix").asText(""), supported));
        }
        return List.copyOf(out);
    }

    private static WeightConversions load() {
        try (InputStream in = WeightConversions.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the classpath");
            }
            return new WeightConversions(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }
}
