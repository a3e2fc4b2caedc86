package dev.mergeline.core.peft;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A regular expression from {@code adapter_config.json}, written for Python's {@code re}, evaluated
 * with a bound on work so that a hostile pattern (catastrophic backtracking) cannot hang a merge.
 *
 * <p>Python-only syntax is translated: {@code (?P<name>…)} to {@code (?<name>…)} and
 * {@code (?P=name)} to {@code \k<name>}. Every match reads its input through a counting
 * {@link CharSequence}; past {@link #MAX_STEPS} character reads the match is abandoned with
 * {@link RegexBudgetExceededException}. A per-match bound alone still lets a config multiply it: many
 * patterns, each just under the budget, times every module of a large model. So a validation runs its
 * matches inside {@link #withTotalBudget}: the reads of every match beyond {@link #FREE_STEPS} come
 * out of one shared budget. Ordinary patterns need 20–200 reads per module name and never touch it,
 * however many modules and pattern keys there are; costly ones exhaust it in about a second.
 */
public final class PythonRegex {
    /** Character reads allowed for one match; module names are short, real patterns need far fewer. */
    public static final long MAX_STEPS = 2_000_000L;
    /** Reads of one match that do not count against the shared budget of {@link #withTotalBudget}. */
    public static final long FREE_STEPS = 10_000L;
    /** Shared budget of one validation: reads beyond {@link #FREE_STEPS} of all matches, about a second. */
    public static final long MAX_TOTAL_STEPS = 20_000_000L;

    /** {remaining, initial} shared budget of the {@link #withTotalBudget} call running on this thread, if any. */
    private static final ThreadLocal<long[]> TOTAL = new ThreadLocal<>();

    private final String source;
    private final Pattern pattern;

    private PythonRegex(String source, Pattern pattern) {
        this.source = source;
        this.pattern = pattern;
    }

    /** Compiles a Python regex; {@link PatternSyntaxException} when Java cannot represent it. */
    public static PythonRegex compile(String pythonRegex) {
        String java = pythonRegex.replace("(?P<", "(?<").replaceAll("\\(\\?P=(\\w+)\\)", "\\\\k<$1>");
        return new PythonRegex(pythonRegex, Pattern.compile(java));
    }

    /** {@code re.fullmatch(pattern, input)}. */
    public boolean fullMatch(String input) {
        return matcher(input).matches();
    }

    /** {@code re.match(pattern, input)}: anchored at the start, not at the end. */
    public boolean matchAtStart(String input) {
        return matcher(input).lookingAt();
    }

    /** {@code re.match(pattern, input).group(group)}, if the pattern matches at the start. */
    public Optional<String> groupAtStart(String input, int group) {
        Matcher m = matcher(input);
        return m.lookingAt() ? Optional.ofNullable(m.group(group)) : Optional.empty();
    }

    public String source() {
        return source;
    }

    /** Work that may throw a checked exception. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs {@code work} with one budget of {@code steps} character reads shared by every match it
     * makes on this thread: each match's reads beyond {@link #FREE_STEPS} are taken from it (on top
     * of each match's own {@link #MAX_STEPS}); past it, matches throw
     * {@link RegexBudgetExceededException}. Nested calls each get their own budget.
     */
    public static <T, E extends Exception> T withTotalBudget(long steps, Work<T, E> work) throws E {
        long[] outer = TOTAL.get();
        TOTAL.set(new long[] {steps, steps});
        try {
            return work.run();
        } finally {
            if (outer == null) {
                TOTAL.remove();
            } else {
                TOTAL.set(outer);
            }
        }
    }

    private Matcher matcher(String input) {
        return pattern.matcher(new BudgetedChars(input, new long[] {0}, TOTAL.get()));
    }

    /**
     * Thrown when a pattern needs more than {@link #MAX_STEPS} character reads for one input, or the
     * matches inside one {@link #withTotalBudget} call need more than its budget together.
     */
    public static final class RegexBudgetExceededException extends RuntimeException {
        RegexBudgetExceededException(String message) {
            super(message);
        }
    }

    private final class BudgetedChars implements CharSequence {
        private final String text;
        private final long[] steps;
        /** {remaining, initial} shared budget, or null outside {@link #withTotalBudget}. */
        private final long[] total;

        BudgetedChars(String text, long[] steps, long[] total) {
            this.text = text;
            this.steps = steps;
            this.total = total;
        }

        @Override
        public char charAt(int index) {
            if (++steps[0] > MAX_STEPS) {
                throw new RegexBudgetExceededException("regex '" + source + "' needed more than " + MAX_STEPS
                        + " steps on '" + text + "' (catastrophic backtracking?)");
            }
            if (total != null && steps[0] > FREE_STEPS && --total[0] < 0) {
                throw new RegexBudgetExceededException("the config's patterns together needed more than "
                        + total[1] + " steps beyond " + FREE_STEPS + " per match (regex '" + source + "' on '" + text
                        + "' was the last)");
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new BudgetedChars(text.substring(start, end), steps, total);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
