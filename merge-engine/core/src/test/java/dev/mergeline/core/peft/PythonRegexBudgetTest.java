package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The step budgets that bound what adapter_config.json's patterns can cost. */
class PythonRegexBudgetTest {
    private static final String NAME = "model.layers.10.self_attn.k_proj";
    /** About 1M reads on {@link #NAME}: under {@link PythonRegex#MAX_STEPS}, far over {@link RegexBudget#FREE_STEPS}. */
    private static final PythonRegex COSTLY = PythonRegex.compile("(.*?){5}\\.zz_proj");

    @Test
    void oneMatchIsBoundedByItsOwnBudget() {
        var e = assertThrows(PythonRegex.RegexBudgetExceededException.class,
                () -> PythonRegex.compile("((.+)+)+\\.q_proj").fullMatch(NAME, RegexBudget.perValidation()));
        assertTrue(e.getMessage().contains(String.valueOf(PythonRegex.MAX_STEPS)), e.getMessage());
    }

    @Test
    void ordinaryMatchesNeverTouchTheSharedBudget() {
        PythonRegex plain = PythonRegex.compile("(.*\\.)?(q_proj)$");
        RegexBudget budget = new RegexBudget(1);
        int misses = 0;
        for (int i = 0; i < 100_000; i++) { // 100,000 modules x keys: well within FREE_STEPS each
            misses += plain.matchAtStart(NAME, budget) ? 0 : 1;
        }
        assertEquals(100_000, misses);
        assertEquals(1, budget.remaining());
    }

    @Test
    void costlyMatchesEachUnderTheirOwnBudgetAreBoundedTogether() {
        assertFalse(COSTLY.fullMatch(NAME, RegexBudget.perValidation()));
        RegexBudget budget = new RegexBudget(5_000_000);
        var e = assertThrows(PythonRegex.RegexBudgetExceededException.class, () -> {
            for (int i = 0; i < 1000; i++) {
                COSTLY.fullMatch(NAME, budget);
            }
        });
        assertTrue(e.getMessage().contains("together needed more than 5000000 steps"), e.getMessage());
    }

    @Test
    void budgetsAreSeparate() {
        RegexBudget exhausted = new RegexBudget(1);
        assertThrows(PythonRegex.RegexBudgetExceededException.class, () -> COSTLY.fullMatch(NAME, exhausted));
        RegexBudget other = new RegexBudget(50_000_000);
        int misses = 0;
        for (int i = 0; i < 3; i++) {
            misses += COSTLY.fullMatch(NAME, other) ? 0 : 1;
        }
        assertEquals(3, misses);
        assertTrue(other.remaining() < 50_000_000 - 3 * RegexBudget.FREE_STEPS, "costly matches spend the budget");
    }

    @Test
    void aNegativeBudgetIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RegexBudget(-1));
    }
}
