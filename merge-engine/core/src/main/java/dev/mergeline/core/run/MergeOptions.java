package dev.mergeline.core.run;

import dev.mergeline.core.merge.MergeExecutor;
import dev.mergeline.safetensors.DType;
import java.util.Optional;

/**
 * Options of one merge: the engine's one option record. The planner takes {@link #outputDType}; a
 * request's options on the wire become these in {@code WireMapping.engineOptions} (quarkus-common).
 *
 * @param outputDType cast floating-point weights to this dtype, or keep each tensor's own
 * @param maxShardBytes largest shard (tensor bytes) before a new shard starts; HF's default is 5 GB
 * @param blockBytes fp32 working-set bytes per row block
 * @param verificationSeed seeds the probe vectors that verify every merged tensor (the pipeline
 *     passes the job id); null: derived from the adapter's config
 */
public record MergeOptions(Optional<DType> outputDType, long maxShardBytes, long blockBytes, String verificationSeed) {

    public MergeOptions(Optional<DType> outputDType, long maxShardBytes, long blockBytes) {
        this(outputDType, maxShardBytes, blockBytes, null);
    }

    /** These options with {@code seed} for the verification probes. */
    public MergeOptions withVerificationSeed(String seed) {
        return new MergeOptions(outputDType, maxShardBytes, blockBytes, seed);
    }

    /** These options with {@code bytes} of fp32 work per block. */
    public MergeOptions withBlockBytes(long bytes) {
        return new MergeOptions(outputDType, maxShardBytes, bytes, verificationSeed);
    }

    /** Hugging Face's default {@code max_shard_size} of 5 GB. */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    public static MergeOptions defaults() {
        return new MergeOptions(Optional.empty(), DEFAULT_SHARD_BYTES, MergeExecutor.DEFAULT_BLOCK_BYTES);
    }
}
