package dev.mergeline.core.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.peft.AdapterConfig;
import dev.mergeline.core.peft.DefaultedField;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a merge will do, decided from configs and safetensors headers alone, before any
 * weight is read: the output tensors in write order, and the merged {@code config.json}.
 *
 * @param tensors output tensors, in write order
 * @param outputConfig the merged model's {@code config.json}
 * @param adapter the adapter config as PEFT resolves it on this base
 * @param counts what the plan does, by kind
 * @param notes decisions worth telling the user (untied embeddings, added heads, ...)
 * @param vocabularyGrowth how the embeddings grow (an adapter trained with added tokens), if they do
 * @param configDefaults adapter config fields that were absent or null, with the value PEFT uses
 */
public record MergePlan(
        List<PlannedTensor> tensors, ObjectNode outputConfig, AdapterConfig adapter, Counts counts, List<String> notes,
        Optional<VocabularyGrowth> vocabularyGrowth, Map<String, DefaultedField> configDefaults) {

    public MergePlan {
        tensors = List.copyOf(tensors);
        notes = List.copyOf(notes);
        configDefaults = Collections.unmodifiableMap(new LinkedHashMap<>(configDefaults));
    }

    /** A plan whose adapter config took no value from defaults. */
    public MergePlan(List<PlannedTensor> tensors, ObjectNode outputConfig, AdapterConfig adapter, Counts counts,
            List<String> notes, Optional<VocabularyGrowth> vocabularyGrowth) {
        this(tensors, outputConfig, adapter, counts, notes, vocabularyGrowth, Map.of());
    }

    /** This plan, recording which adapter config values came from PEFT's defaults. */
    public MergePlan withConfigDefaults(Map<String, DefaultedField> defaults) {
        return new MergePlan(tensors, outputConfig, adapter, counts, notes, vocabularyGrowth, defaults);
    }

    /**
     * @param merged tensors changed by a LoRA delta (weights and lora biases)
     * @param replaced tensors taken whole from the adapter that exist in the base
     * @param added tensors taken whole from the adapter that the base lacks (new heads)
     * @param copied base tensors written unchanged in value
     */
    public record Counts(int merged, int replaced, int added, int copied) {}
}
