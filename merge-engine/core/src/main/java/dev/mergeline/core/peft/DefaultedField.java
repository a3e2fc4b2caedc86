package dev.mergeline.core.peft;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A field of {@code adapter_config.json} that was absent or null, and the value PEFT 0.21 uses instead.
 *
 * @param value the value in effect
 * @param source where it comes from: {@code "LoraConfig default"}, {@code
 *     "TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING['llama']"} or {@code "null, which PEFT treats as false"}
 */
public record DefaultedField(JsonNode value, String source) {}
