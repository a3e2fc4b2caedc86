package dev.mergeline.core.peft;

/**
 * The character reads that the matches of one validation may spend together. Each match's first
 * {@link #FREE_STEPS} reads are free; every read beyond them comes out of this budget, and past it a
 * match throws {@link PythonRegex.RegexBudgetExceededException}. A per-match bound alone
 * ({@link PythonRegex#MAX_STEPS}) still lets a config multiply it: many patterns, each just under it,
 * times every module of a large model. Ordinary patterns need 20–200 reads per module name and never
 * touch the budget, however many modules and pattern keys there are; costly ones exhaust
 * {@link #PER_VALIDATION} in about a second.
 *
 * <p>The planner makes one per plan and passes it to every match it makes (through
 * {@link AdapterConfig}'s matching methods). Not thread-safe: one plan, one thread.
 */
public final class RegexBudget {
    /** Reads of one match that do not count against the budget. */
    public static final long FREE_STEPS = 10_000L;
    /** The budget of one validation: reads beyond {@link #FREE_STEPS} of all its matches, about a second. */
    public static final long PER_VALIDATION = 20_000_000L;

    private final long steps;
    private long remaining;

    /** A budget of {@code steps} reads beyond each match's free ones. */
    public RegexBudget(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("a regex budget of " + steps + " steps");
        }
        this.steps = steps;
        this.remaining = steps;
    }

    /** A budget of {@link #PER_VALIDATION} reads. */
    public static RegexBudget perValidation() {
        return new RegexBudget(PER_VALIDATION);
    }

    /** Reads left. */
    public long remaining() {
        return remaining;
    }

    /** Takes the read a match made at its {@code matchSteps}th read of {@code text} with {@code source}. */
    void spend(long matchSteps, String source, String text) {
        if (matchSteps > FREE_STEPS && --remaining < 0) {
            throw new PythonRegex.RegexBudgetExceededException("the config's patterns together needed more than "
                    + steps + " steps beyond " + FREE_STEPS + " per match (regex '" + source + "' on '" + text
                    + "' was the last)");
        }
    }
}
