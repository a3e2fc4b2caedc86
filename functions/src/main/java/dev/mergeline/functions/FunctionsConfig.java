package dev.mergeline.functions;

import io.smallrye.config.ConfigMapping;
import java.util.Map;

/**
 * The functions' own configuration ({@code mergeline.*}; env vars {@code MERGELINE_*}). The bucket,
 * S3 and input limits are the settings they share with the worker
 * ({@link dev.mergeline.quarkus.MergelineSettings}).
 */
@ConfigMapping(prefix = "mergeline")
public interface FunctionsConfig {

    /**
     * Base-model aliases: {@code base_model_name_or_path} (e.g. a local training path) → the name
     * under {@code base-models/}. {@code merge.json}'s {@code base} wins over both.
     */
    Map<String, String> baseAliases();
}
