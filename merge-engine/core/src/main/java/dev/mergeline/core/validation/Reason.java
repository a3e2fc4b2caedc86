package dev.mergeline.core.validation;

import java.util.Objects;

/**
 * One specific finding: a code, a message a human can act on, and where known the tensor and the
 * expected versus actual value. Null fields are omitted from JSON.
 *
 * @param code stable reason code
 * @param message specific, human-readable explanation
 * @param tensor tensor or file the finding is about, or null
 * @param expected what was expected, or null
 * @param actual what was found, or null
 * @param detail finer classification (e.g. the safetensors sub-reason {@code HEADER_TOO_LARGE}), or null
 */
public record Reason(
        ReasonCode code, String message, String tensor, String expected, String actual, String detail) {

    public Reason {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
    }

    public static Reason of(ReasonCode code, String message) {
        return new Reason(code, message, null, null, null, null);
    }

    public static Reason about(ReasonCode code, String tensor, String message) {
        return new Reason(code, message, tensor, null, null, null);
    }

    public static Reason mismatch(ReasonCode code, String tensor, String message, Object expected, Object actual) {
        return new Reason(code, message, tensor, String.valueOf(expected), String.valueOf(actual), null);
    }

    public Reason withDetail(String newDetail) {
        return new Reason(code, message, tensor, expected, actual, newDetail);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(code.name()).append(": ").append(message);
        if (expected != null || actual != null) {
            s.append(" (expected ").append(expected).append(", actual ").append(actual).append(')');
        }
        return s.toString();
    }
}
