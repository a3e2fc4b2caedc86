package dev.mergeline.core.run;

import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.util.List;

/**
 * What validation needs, and nothing more: two small JSON files and safetensors headers, as
 * {@link InputRules} reads them from a local directory or an S3 prefix.
 *
 * @param adapterConfigJson bytes of {@code adapter_config.json}
 * @param adapterHeader header of {@code adapter_model.safetensors}
 * @param baseConfigJson bytes of the base's {@code config.json}
 * @param baseTensors every tensor of the base checkpoint (all shards), in checkpoint order
 */
public record MergeInputs(
        byte[] adapterConfigJson, SafetensorsHeader adapterHeader, byte[] baseConfigJson, List<TensorInfo> baseTensors) {
    public MergeInputs {
        baseTensors = List.copyOf(baseTensors);
    }
}
