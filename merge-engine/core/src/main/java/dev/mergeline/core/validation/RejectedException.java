package dev.mergeline.core.validation;

import java.util.List;

/**
 * The inputs are not mergeable. Never retriable: the same inputs give the same reasons. Carries
 * every reason found, not only the first.
 */
public final class RejectedException extends Exception {
    private final transient List<Reason> reasons;

    public RejectedException(List<Reason> reasons) {
        super(summarise(reasons));
        if (reasons.isEmpty()) {
            throw new IllegalArgumentException("a rejection needs at least one reason");
        }
        this.reasons = List.copyOf(reasons);
    }

    public RejectedException(Reason reason) {
        this(List.of(reason));
    }

    public List<Reason> reasons() {
        return reasons;
    }

    private static String summarise(List<Reason> reasons) {
        if (reasons.isEmpty()) {
            return "rejected";
        }
        String first = reasons.get(0).toString();
        return reasons.size() == 1 ? first : first + " (and " + (reasons.size() - 1) + " more)";
    }
}
