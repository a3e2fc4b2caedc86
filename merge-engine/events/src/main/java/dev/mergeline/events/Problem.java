package dev.mergeline.events;

import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import java.util.List;
import java.util.Optional;

/**
 * One finding in a rejection or failure, on the wire as
 * {@code {code, message, tensor?, expected?, actual?, detail?}}: the shape of core's
 * {@link Reason}, with the code as a string so that validation {@link ReasonCode}s and
 * {@link FailureCode}s share one format (and codes added by later versions still decode).
 *
 * @param code stable upper-snake-case code ({@link ReasonCode} or {@link FailureCode} name)
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

    /** The validation reason, code and all fields kept. */
    public static Problem of(Reason reason) {
        return new Problem(reason.code().name(), reason.message(), reason.tensor(), reason.expected(),
                reason.actual(), reason.detail());
    }

    public static List<Problem> of(List<Reason> reasons) {
        return reasons.stream().map(Problem::of).toList();
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

    /** The validation reason code, when {@link #code} is one this version knows. */
    public Optional<ReasonCode> reasonCode() {
        for (ReasonCode c : ReasonCode.values()) {
            if (c.name().equals(code)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
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

    /** Back to core's {@link Reason} (equal to the one {@link #of(Reason)} was given), for validation codes. */
    public Optional<Reason> toReason() {
        return reasonCode().map(c -> new Reason(c, message, tensor, expected, actual, detail));
    }
}
