package dev.mergeline.safetensors;

import java.io.IOException;
import java.util.Objects;
import java.util.Optional;

/**
 * A safetensors file or checkpoint directory that does not follow the format. {@link #reason()}
 * says which rule was broken; the message states the offending value and the limit or
 * expectation it broke.
 */
public final class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The rule a file broke. */
    public enum Reason {
        /** Fewer than 8 bytes, or a header length too small to hold "{}". */
        HEADER_TOO_SMALL,
        /** The header length is above the allowed maximum. */
        HEADER_TOO_LARGE,
        /** The header length points past the end of the file. */
        INVALID_HEADER_LENGTH,
        /** The header is not valid UTF-8. */
        INVALID_UTF8,
        /** The header is not well-formed JSON of the expected structure. */
        INVALID_JSON,
        /** A JSON object in the header repeats a key. */
        DUPLICATE_KEY,
        /** data_offsets are reversed, not contiguous, or point outside the data section. */
        INVALID_OFFSETS,
        /** A tensor's dtype and shape need a different number of bytes than its data_offsets give. */
        SIZE_MISMATCH,
        /** The file continues after the last tensor's data. */
        TRAILING_BYTES,
        /** The dtype name is not one this version knows. */
        UNKNOWN_DTYPE,
        /** A shape holds a negative or non-integer dimension. */
        INVALID_SHAPE,
        /** A size computed from the header does not fit in 64 bits. */
        ARITHMETIC_OVERFLOW,
        /** model.safetensors.index.json is malformed or disagrees with the shard files. */
        INVALID_INDEX,
        /**
         * The header lists more tensors than the reader allows ({@link HeaderLimits#maxTensors()});
         * the parse stops at the first tensor past the limit, so the rest is never built.
         */
        TOO_MANY_TENSORS
    }

    private final Reason reason;
    private final String tensor;

    /**
     * @param reason        the rule that was broken
     * @param message       what was found and what was expected
     * @param tensorOrNull  the tensor the failure is about, or null
     */
    public SafetensorsException(Reason reason, String message, String tensorOrNull) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.tensor = tensorOrNull;
    }

    /** Like {@link #SafetensorsException(Reason, String, String)}, with the underlying cause. */
    public SafetensorsException(Reason reason, String message, String tensorOrNull, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.tensor = tensorOrNull;
    }

    /** The rule that was broken. */
    public Reason reason() {
        return reason;
    }

    /** The tensor the failure is about, when it is about one. */
    public Optional<String> tensor() {
        return Optional.ofNullable(tensor);
    }

    @Override
    public String toString() {
        return "SafetensorsException[" + reason + "]: " + getMessage();
    }
}
