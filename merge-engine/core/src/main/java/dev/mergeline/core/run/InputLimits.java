package dev.mergeline.core.run;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.safetensors.HeaderLimits;
import dev.mergeline.safetensors.SafetensorsException;
import dev.mergeline.safetensors.SafetensorsHeader;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How large the inputs of one validation or merge may be, each limit enforced before the input it
 * bounds is read: the adapter weights' size (from the file system or the S3 listing, before even
 * their header is read), every safetensors header's length (from its 8-byte prefix), and the number
 * of tensors in the adapter's header (while it is parsed: the parse stops at the first tensor past
 * the limit). Applied by {@link InputRules}, for a local directory (CLI, worker) and an S3 prefix (functions) alike.
 *
 * <p>Defaults, chosen to pass every real adapter and refuse the absurd:
 * <ul>
 * <li>{@value #DEFAULT_MAX_ADAPTER_BYTES} bytes (16 GiB) of adapter weights. A rank-64 LoRA on every
 * linear layer of a 70B Llama is 1.7 GB in bf16 (3.3 GB in fp32); rank 256 in fp32 is 13 GB; saving
 * the embeddings and head of a 128k-token vocabulary ({@code modules_to_save}) adds 4.2 GB in bf16.
 * Anything larger is most likely a whole model uploaded as an adapter.</li>
 * <li>{@link SafetensorsHeader#MAX_HEADER_BYTES} (100 MB) of header, the format's own limit.</li>
 * <li>{@value #DEFAULT_MAX_TENSOR_COUNT} tensors. A dense 405B model with LoRA and DoRA on every
 * linear layer has under 3,000; a LoRA on every expert of a large mixture of experts (DeepSeek-V3:
 * 58 MoE layers × 256 experts × 3 projections × A and B) has about 90,000. The limit keeps a header
 * of millions of entries from filling the heap (a Lambda has 1 GiB) before validation starts.</li>
 * </ul>
 *
 * @param maxAdapterBytes largest {@code adapter_model.safetensors} accepted, in bytes
 * @param maxHeaderBytes  largest safetensors header accepted (adapter and base), in bytes
 * @param maxTensorCount  most tensors the adapter's header may list
 */
public record InputLimits(long maxAdapterBytes, long maxHeaderBytes, int maxTensorCount) {

    public static final long DEFAULT_MAX_ADAPTER_BYTES = 17_179_869_184L;
    public static final int DEFAULT_MAX_TENSOR_COUNT = 131_072;
    /** {@code detail} of an {@link ReasonCode#INPUT_TOO_LARGE} for the adapter weights' size. */
    public static final String ADAPTER_BYTES = "ADAPTER_BYTES";
    /** {@code detail} of an {@link ReasonCode#INPUT_TOO_LARGE} for the adapter's tensor count. */
    public static final String TENSOR_COUNT = "TENSOR_COUNT";

    private static final InputLimits DEFAULTS = new InputLimits(DEFAULT_MAX_ADAPTER_BYTES,
            SafetensorsHeader.MAX_HEADER_BYTES, DEFAULT_MAX_TENSOR_COUNT);

    /** @throws IllegalArgumentException naming the limit and its value, if a limit is not positive */
    public InputLimits {
        if (maxAdapterBytes <= 0) {
            throw new IllegalArgumentException("maxAdapterBytes must be positive, got " + maxAdapterBytes);
        }
        if (maxHeaderBytes <= 0) {
            throw new IllegalArgumentException("maxHeaderBytes must be positive, got " + maxHeaderBytes);
        }
        if (maxTensorCount <= 0) {
            throw new IllegalArgumentException("maxTensorCount must be positive, got " + maxTensorCount);
        }
    }

    public static InputLimits defaults() {
        return DEFAULTS;
    }

    /** The limits that are set, and the defaults for those that are not (how configuration maps to them). */
    public static InputLimits orDefaults(OptionalLong maxAdapterBytes, OptionalLong maxHeaderBytes,
            OptionalInt maxTensorCount) {
        return new InputLimits(maxAdapterBytes.orElse(DEFAULT_MAX_ADAPTER_BYTES),
                maxHeaderBytes.orElse(DEFAULTS.maxHeaderBytes()), maxTensorCount.orElse(DEFAULT_MAX_TENSOR_COUNT));
    }

    /** What a reader accepts from the adapter's header. */
    public HeaderLimits adapterHeader() {
        return new HeaderLimits(maxHeaderBytes, maxTensorCount);
    }

    /** What a reader accepts from a base checkpoint's headers (the tensor count is not limited there). */
    public HeaderLimits baseHeader() {
        return new HeaderLimits(maxHeaderBytes, HeaderLimits.DEFAULT.maxTensors());
    }

    /**
     * {@link ReasonCode#INPUT_TOO_LARGE} when the adapter weights are larger than allowed; to be
     * asked before anything of the file is read.
     *
     * @param file  the file as the report should name it (a path or an S3 key)
     * @param bytes its size
     */
    public Optional<Reason> checkAdapterBytes(String file, long bytes) {
        if (bytes <= maxAdapterBytes) {
            return Optional.empty();
        }
        return Optional.of(new Reason(ReasonCode.INPUT_TOO_LARGE, file + " has " + bytes
                + " bytes, above the limit of " + maxAdapterBytes + " bytes; refused without reading it",
                file, "<= " + maxAdapterBytes + " bytes", bytes + " bytes", ADAPTER_BYTES));
    }

    /**
     * The reason a safetensors file's header problem is reported with: more tensors than
     * {@link #maxTensorCount} is {@link ReasonCode#INPUT_TOO_LARGE}; every other rule,
     * {@link ReasonCode#SAFETENSORS_HEADER_INVALID} with the format's sub-reason as detail.
     *
     * @param file the file as the report should name it (a path or an S3 key)
     */
    public Reason headerReason(SafetensorsException e, String file) {
        if (e.reason() == SafetensorsException.Reason.TOO_MANY_TENSORS) {
            return new Reason(ReasonCode.INPUT_TOO_LARGE, file + ": " + e.getMessage(), file,
                    "<= " + maxTensorCount + " tensors", "> " + maxTensorCount + " tensors", TENSOR_COUNT);
        }
        return new Reason(ReasonCode.SAFETENSORS_HEADER_INVALID, file + ": " + e.getMessage(), e.tensor().orElse(file),
                null, null, e.reason().name());
    }
}
