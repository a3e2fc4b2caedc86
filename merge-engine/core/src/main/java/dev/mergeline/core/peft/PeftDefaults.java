package dev.mergeline.core.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * PEFT 0.21's defaults for a LoRA config, read from {@code peft-defaults.json}, which
 * {@code merge-engine/fixtures/generate_peft_defaults.py} generates from the pinned PEFT wheel:
 * the {@code LoraConfig} field defaults, the fields whose explicit {@code null} PEFT cannot load,
 * and {@code TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING} (default target modules by
 * {@code model_type}).
 */
public final class PeftDefaults {
    /** Class-path location of the generated table. */
    public static final String RESOURCE = "peft-defaults.json";
    /** Name of the table in PEFT's source, used in messages and in recorded defaults. */
    public static final String TARGET_MODULES_TABLE = "TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING";

    private static final PeftDefaults PINNED = load();

    private final ObjectNode document;
    private final Set<String> nullRefused;

    private PeftDefaults(ObjectNode document) {
        this.document = document;
        Set<String> refused = new LinkedHashSet<>();
        document.path("null_refused").forEach(f -> refused.add(f.asText()));
        this.nullRefused = Set.copyOf(refused);
    }

    /** The defaults of the PEFT version Mergeline is pinned to. */
    public static PeftDefaults pinned() {
        return PINNED;
    }

    private static PeftDefaults load() {
        try (InputStream in = PeftDefaults.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the class path");
            }
            return new PeftDefaults((ObjectNode) new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** The PEFT release the table was generated from. */
    public String peftVersion() {
        return document.path("peft_version").asText();
    }

    /** The {@code LoraConfig} default of {@code field}; empty when the field has none or is unknown to PEFT. */
    public Optional<JsonNode> loraDefault(String field) {
        return Optional.ofNullable(document.path("lora_config_defaults").get(field));
    }

    /** Whether PEFT fails to load a config in which {@code field} is an explicit {@code null}. */
    public boolean nullRefused(String field) {
        return nullRefused.contains(field);
    }

    /** PEFT's default {@code target_modules} for {@code modelType}: a list of names or a regex string. */
    public Optional<JsonNode> targetModulesFor(String modelType) {
        return Optional.ofNullable(document.path("target_modules_by_model_type").get(modelType));
    }

    /** The model types that have a default, for messages. */
    public Set<String> modelTypesWithDefaults() {
        Set<String> types = new LinkedHashSet<>();
        document.path("target_modules_by_model_type").fieldNames().forEachRemaining(types::add);
        return types;
    }
}
