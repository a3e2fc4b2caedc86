package dev.mergeline.events;

import java.util.Locale;

/**
 * Options of a merge that change its output (and therefore the job id).
 *
 * @param dtype output dtype {@code bf16}, {@code fp16} or {@code fp32}; null keeps each tensor's
 *     dtype. Other spellings ({@code bfloat16}, {@code torch.float16}, {@code FP32}, ...) are
 *     accepted and normalized to these three.
 * @param maxShardBytes largest shard in bytes; null means Hugging Face's default of 5 GB
 */
public record MergeOptions(String dtype, Long maxShardBytes) {
    /** Hugging Face's default {@code max_shard_size}, 5 GB. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;
    /** Keep dtypes, default shard size. */
    public static final MergeOptions DEFAULTS = new MergeOptions(null, null);

    public MergeOptions {
        if (dtype != null) {
            String given = dtype;
            dtype = shortName(dtype);
            if (dtype == null) {
                throw EventFormatException.invalid("dtype", given, "must be bf16, fp16 or fp32");
            }
        }
        if (maxShardBytes != null && maxShardBytes <= 0) {
            throw EventFormatException.invalid("maxShardBytes", maxShardBytes, "must be positive");
        }
    }

    /** {@link #maxShardBytes}, or the 5 GB default. */
    public long effectiveMaxShardBytes() {
        return maxShardBytes != null ? maxShardBytes : DEFAULT_MAX_SHARD_BYTES;
    }

    /** bf16, fp16 or fp32 for the spellings torch and Hugging Face use for them; null for anything else. */
    private static String shortName(String name) {
        return switch (name.toLowerCase(Locale.ROOT).replace("torch.", "")) {
            case "bf16", "bfloat16" -> "bf16";
            case "fp16", "f16", "float16", "half" -> "fp16";
            case "fp32", "f32", "float32", "float" -> "fp32";
            default -> null;
        };
    }
}
