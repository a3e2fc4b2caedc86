package dev.mergeline.events;

import java.util.Optional;

/**
 * One finding in a rejection or failure, on the wire as
 * {@code {code, message, tensor?, expected?, actual?, detail?}}: the shape of the engine's
 * validation reasons, with the code as a string so that validation reason codes and
 * {@link FailureCode}s share one format (and codes added by later versions still decode).
 *
 * @param code stable upper-snake-case code (a validation reason code or a {@link FailureCode} name)
 * @param message specific, human-readable explanation
 * @param tensor tensor or file the finding is about, or null
 * @param expected what was expected, or null
 * @param actual what was found, or null
 * @param detail finer classification (e.g. {@code HEADER_TOO_LARGE}), or null
 */
public record Problem(String code, String message, String tensor, String expected, String actual, String detail) {

    public Problem {
        Check.required(code, "code");
        if (!Check.CODE.matcher(code).matches()) {
            throw EventFormatException.invalid("code", code, "must be an UPPER_SNAKE_CASE code");
        }
        Check.text(message, "message");
    }

    /** A failure that is not a validation finding. */
    public static Problem of(FailureCode code, String message) {
        return new Problem(code.name(), message, null, null, null, null);
    }

    public Problem withTensor(String newTensor) {
        return new Problem(code, message, newTensor, expected, actual, detail);
    }

    public Problem withDetail(String newDetail) {
        return new Problem(code, message, tensor, expected, actual, newDetail);
    }

    /** The failure code, when {@link #code} is one this version knows. */
    public Optional<FailureCode> failureCode() {
        for (FailureCode c : FailureCode.values()) {
            if (c.name().equals(code)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }
}
