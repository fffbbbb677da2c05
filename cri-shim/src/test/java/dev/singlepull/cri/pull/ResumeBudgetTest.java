package dev.singlepull.cri.pull;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ResumeBudgetTest {
    private static final long MS = 1_000_000L;

    @Test
    void partsThatBreakTogetherCostOneResume() {
        ResumeBudget budget = new ResumeBudget(1);
        long opened = 0;
        for (int part = 0; part < 4; part++) {
            assertTrue(budget.resume(opened, 5_000 * MS + part * MS), "part " + part);
        }
        assertEquals(1, budget.spent());
    }

    @Test
    void aStreamOpenedAfterTheLastBreakCountsAgain() {
        ResumeBudget budget = new ResumeBudget(2);
        assertTrue(budget.resume(0, 1_000 * MS));
        assertTrue(budget.resume(1_001 * MS, 1_002 * MS), "a resumed stream that breaks at once is a new break");
        assertFalse(budget.resume(1_003 * MS, 1_004 * MS));
        assertEquals(3, budget.spent());
    }

    @Test
    void aLateBreakOfAnOldStreamHasACauseOfItsOwn() {
        ResumeBudget budget = new ResumeBudget(5);
        budget.resume(0, 1_000 * MS);
        budget.resume(0, 9_000 * MS);
        assertEquals(2, budget.spent());
    }

    @Test
    void noBudgetMeansNoResume() {
        assertFalse(new ResumeBudget(0).resume(0, MS));
    }
}
