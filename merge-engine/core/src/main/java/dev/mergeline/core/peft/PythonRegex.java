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
 * {@link RegexBudgetExceededException}. Every match also takes its reads beyond
 * {@link RegexBudget#FREE_STEPS} from the {@link RegexBudget} it is given, which all matches of one
 * validation share.
 */
public final class PythonRegex {
    /** Character reads allowed for one match; module names are short, real patterns need far fewer. */
    public static final long MAX_STEPS = 2_000_000L;

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

    /** {@code re.fullmatch(pattern, input)}, its reads beyond the free ones taken from {@code budget}. */
    public boolean fullMatch(String input, RegexBudget budget) {
        return matcher(input, budget).matches();
    }

    /** {@code re.match(pattern, input)}: anchored at the start, not at the end. */
    public boolean matchAtStart(String input, RegexBudget budget) {
        return matcher(input, budget).lookingAt();
    }

    /** {@code re.match(pattern, input).group(group)}, if the pattern matches at the start. */
    public Optional<String> groupAtStart(String input, int group, RegexBudget budget) {
        Matcher m = matcher(input, budget);
        return m.lookingAt() ? Optional.ofNullable(m.group(group)) : Optional.empty();
    }

    public String source() {
        return source;
    }

    private Matcher matcher(String input, RegexBudget budget) {
        return pattern.matcher(new BudgetedChars(input, new long[] {0}, budget));
    }

    /**
     * Thrown when a pattern needs more than {@link #MAX_STEPS} character reads for one input, or the
     * matches sharing one {@link RegexBudget} need more than it together.
     */
    public static final class RegexBudgetExceededException extends RuntimeException {
        RegexBudgetExceededException(String message) {
            super(message);
        }
    }

    private final class BudgetedChars implements CharSequence {
        private final String text;
        private final long[] steps;
        private final RegexBudget budget;

        BudgetedChars(String text, long[] steps, RegexBudget budget) {
            this.text = text;
            this.steps = steps;
            this.budget = budget;
        }

        @Override
        public char charAt(int index) {
            if (++steps[0] > MAX_STEPS) {
                throw new RegexBudgetExceededException("regex '" + source + "' needed more than " + MAX_STEPS
                        + " steps on '" + text + "' (catastrophic backtracking?)");
            }
            budget.spend(steps[0], source, text);
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new BudgetedChars(text.substring(start, end), steps, budget);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
