package dev.mergeline.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The step budgets that bound what adapter_config.json's patterns can cost. */
class PythonRegexBudgetTest {
    private static final String NAME = "model.layers.10.self_attn.k_proj";

    @Test
    void oneMatchIsBoundedByItsOwnBudget() {
        var e = assertThrows(PythonRegex.RegexBudgetExceededException.class,
                () -> PythonRegex.compile("((.+)+)+\\.q_proj").fullMatch(NAME));
        assertTrue(e.getMessage().contains(String.valueOf(PythonRegex.MAX_STEPS)), e.getMessage());
    }

    @Test
    void ordinaryMatchesNeverTouchTheSharedBudget() {
        PythonRegex plain = PythonRegex.compile("(.*\\.)?(q_proj)$");
        int misses = PythonRegex.withTotalBudget(1, () -> {
            int n = 0;
            for (int i = 0; i < 100_000; i++) { // 100,000 modules x keys: well within FREE_STEPS each
                n += plain.matchAtStart(NAME) ? 0 : 1;
            }
            return n;
        });
        assertEquals(100_000, misses);
    }

    @Test
    void costlyMatchesEachUnderTheirOwnBudgetAreBoundedTogether() {
        PythonRegex costly = PythonRegex.compile("(.*?){5}\\.zz_proj"); // ~1M reads, under MAX_STEPS
        assertTrue(!costly.fullMatch(NAME));
        var e = assertThrows(PythonRegex.RegexBudgetExceededException.class,
                () -> PythonRegex.withTotalBudget(5_000_000, () -> {
                    for (int i = 0; i < 1000; i++) {
                        costly.fullMatch(NAME);
                    }
                    return null;
                }));
        assertTrue(e.getMessage().contains("together"), e.getMessage());
    }

    @Test
    void nestedBudgetsAreSeparateAndTheOuterOneIsRestored() throws Exception {
        PythonRegex costly = PythonRegex.compile("(.*?){5}\\.zz_proj");
        int matched = PythonRegex.withTotalBudget(50_000_000, () -> {
            assertThrows(PythonRegex.RegexBudgetExceededException.class,
                    () -> PythonRegex.withTotalBudget(1, () -> costly.fullMatch(NAME)));
            int n = 0;
            for (int i = 0; i < 3; i++) {
                n += costly.fullMatch(NAME) ? 0 : 1;
            }
            return n;
        });
        assertEquals(3, matched);
    }
}
