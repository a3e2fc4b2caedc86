package dev.mergeline.events;

import dev.mergeline.safetensors.DType;
import java.util.Optional;

/**
 * Options of a merge that change its output (and therefore the job id).
 *
 * @param dtype output dtype {@code bf16}, {@code fp16} or {@code fp32}; null keeps each tensor's
 *     dtype. Other spellings ({@code bfloat16}, {@code torch.float16}, {@code FP32}, ...) are
 *     accepted and normalized to these three.
 * @param maxShardBytes largest shard in bytes; null means Hugging Face's default of 5 GB
 */
public record MergeOptions(String dtype, Long maxShardBytes) {
    /** Keep dtypes, default shard size. */
    public static final MergeOptions DEFAULTS = new MergeOptions(null, null);

    public MergeOptions {
        if (dtype != null) {
            String given = dtype;
            dtype = DType.fromTorchName(dtype).filter(DType::isMergeable).map(MergeOptions::shortName)
                    .orElseThrow(() -> EventFormatException.invalid("dtype", given, "must be bf16, fp16 or fp32"));
        }
        if (maxShardBytes != null && maxShardBytes <= 0) {
            throw EventFormatException.invalid("maxShardBytes", maxShardBytes, "must be positive");
        }
    }

    /** The output dtype, empty to keep each tensor's own. */
    public Optional<DType> outputDType() {
        return Optional.ofNullable(dtype).flatMap(DType::fromTorchName);
    }

    /** {@link #maxShardBytes}, or the 5 GB default. */
    public long effectiveMaxShardBytes() {
        return maxShardBytes != null ? maxShardBytes : dev.mergeline.core.run.MergeOptions.DEFAULT_SHARD_BYTES;
    }

    /** The merge engine's options for these (default row-block size). */
    public dev.mergeline.core.run.MergeOptions toEngineOptions() {
        return new dev.mergeline.core.run.MergeOptions(outputDType(), effectiveMaxShardBytes(),
                dev.mergeline.core.run.MergeOptions.defaults().blockBytes());
    }

    private static String shortName(DType d) {
        return switch (d) {
            case BF16 -> "bf16";
            case F16 -> "fp16";
            case F32 -> "fp32";
            default -> throw new IllegalStateException(d.name());
        };
    }
}
