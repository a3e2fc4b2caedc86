package dev.mergeline.core.validation;

/**
 * Stable reason codes of the public contract ({@code docs/contract.md}). Each rejection or merge
 * failure carries one or more of these; the names never change once released.
 */
public enum ReasonCode {
    /** {@code adapter_config.json} or the adapter weights are missing. */
    ADAPTER_FILES_MISSING("adapter files are missing"),
    /**
     * The adapter or the base ships only pickle weights ({@code adapter_model.bin},
     * {@code pytorch_model.bin}); loading them can run code.
     */
    PICKLE_WEIGHTS_REFUSED("pickle weights are refused"),
    /** A safetensors file (adapter or base) has an invalid header; the sub-reason says which rule. */
    SAFETENSORS_HEADER_INVALID("invalid safetensors header"),
    /** {@code adapter_config.json} is not valid JSON or a field has an invalid value or type. */
    ADAPTER_CONFIG_INVALID("invalid adapter_config.json"),
    /** A PEFT method other than LoRA. */
    PEFT_TYPE_UNSUPPORTED("PEFT type not supported"),
    /** A LoRA variant that cannot be merged faithfully (base-mutating inits, layer replication, ...). */
    PEFT_VARIANT_UNSUPPORTED("LoRA variant not supported"),
    /** The base model cannot be found or has no usable {@code config.json}. */
    BASE_MODEL_UNKNOWN("base model unknown"),
    /** The base is quantized; merging into quantized weights is lossy and refused. */
    BASE_QUANTIZED("base model is quantized"),
    /** The adapter was trained on a different architecture than the base. */
    ARCHITECTURE_MISMATCH("architecture mismatch"),
    /** A module the adapter targets, or a tensor it replaces, does not exist in the base. */
    TARGET_MODULE_NOT_FOUND("target module not found in base"),
    /** A module the config targets, or one half of a LoRA pair, has no tensors in the adapter file. */
    ADAPTER_KEYS_MISSING("adapter tensors missing"),
    /** An adapter tensor's shape does not fit the base weight it applies to. */
    TENSOR_SHAPE_MISMATCH("tensor shape mismatch"),
    /** The LoRA rank in the weights disagrees with the config (r, rank_pattern) or between A and B. */
    RANK_MISMATCH("rank mismatch"),
    /** A tensor dtype Mergeline cannot merge. */
    DTYPE_UNSUPPORTED("dtype not supported"),
    /** NaN or infinity in adapter weights (found when the weights are read). */
    NON_FINITE_WEIGHTS("non-finite adapter weights"),
    /** A config field this version does not understand, set to a non-default value. */
    UNKNOWN_CONFIG_FIELD("unknown adapter_config.json field"),
    /**
     * An input exceeds a configured limit ({@code InputLimits}), found before the input is read:
     * the adapter weights' size in bytes ({@code detail} {@code ADAPTER_BYTES}) or the number of
     * tensors in their header ({@code TENSOR_COUNT}).
     */
    INPUT_TOO_LARGE("input exceeds a configured limit");

    private final String summary;

    ReasonCode(String summary) {
        this.summary = summary;
    }

    /** A short human summary; each {@link Reason} carries a specific message. */
    public String summary() {
        return summary;
    }
}
