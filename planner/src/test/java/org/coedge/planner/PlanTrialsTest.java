package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class PlanTrialsTest
{
    private static final LayerGraph GRAPH = PlannerTest.vggLike(32, 3);

    private static Plan plan(final double... shares)
    {
        return Planner.uniform(GRAPH, shares, 1);
    }

    private static boolean[] run(final PlanTrials t, final int requests, final double ns, final double... compute)
    {
        final boolean[] switched = new boolean[requests];
        for (int r = 0; r < requests; r++)
        {
            switched[r] = t.record(ns, compute);
        }
        return switched;
    }

    @Test
    void shouldMeasureEachCandidateInTurnAndKeepTheFastestMedian()
    {
        final PlanTrials t = new PlanTrials(3, 0.2, 3);
        final Plan a = plan(1, 1);
        final Plan b = plan(1, 0);
        final Plan c = plan(3, 1);
        t.start(List.of(a, b, c), List.of("a", "b", "c"));
        assertTrue(t.trying());
        assertEquals(a, t.current());
        assertFalse(t.record(10, new double[2]));
        assertFalse(t.record(12, new double[2]));
        assertTrue(t.record(30, new double[2]), "switches after its third request");
        assertEquals(b, t.current());
        // b's median (9) beats a's (12) and c's (11), though c has the single fastest request
        t.record(9, new double[2]);
        t.record(50, new double[2]);
        assertTrue(t.record(8, new double[2]));
        assertEquals(c, t.current());
        t.record(5, new double[2]);
        t.record(11, new double[2]);
        assertTrue(t.record(11, new double[2]), "back to b");
        assertFalse(t.trying());
        assertEquals(b, t.current());
        assertTrue(t.decision().contains("running b"), t.decision());
    }

    @Test
    void shouldRankByAScoreAtAQuantileWhenAsked()
    {
        // a: fast but late in 2 of its 8 requests (score 5); b: never late, a little slower (score 2)
        final double[] aScores = {1, 1, 5, 1, 1, 1, 5, 1};
        final double[] bScores = {2, 2, 2, 2, 2, 2, 2, 2};
        for (final boolean quantile : new boolean[]{false, true})
        {
            final PlanTrials t = new PlanTrials(4, 2, 0.2, 3).scoredIn("score", 1);
            if (quantile)
            {
                t.rankedAt(0.875);
            }
            t.start(List.of(plan(1, 1), plan(1, 0)), List.of("a", "b"));
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < 4; i++)
                {
                    t.record(10, new double[2], aScores[round * 4 + i]);
                }
                for (int i = 0; i < 4; i++)
                {
                    t.record(12, new double[2], bScores[round * 4 + i]);
                }
            }
            assertFalse(t.trying());
            assertEquals(quantile ? "b" : "a", t.currentName(), t.decision());
            assertTrue(t.decision().contains(" score ("), t.decision());
        }
        assertEquals(5, PlanTrials.quantile(aScores, 0.875));
        assertEquals(1, PlanTrials.quantile(aScores, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new PlanTrials(4, 0.2, 3).rankedAt(1.5));
    }

    @Test
    void shouldDropCandidatesOfTheSameShapeAndNotTryASingleOne()
    {
        final PlanTrials t = new PlanTrials(2, 0.2, 3);
        t.start(List.of(plan(1, 1), plan(1, 1)), List.of("a", "a again"));
        assertFalse(t.trying());
        assertFalse(t.record(10, new double[2]));
        assertThrows(IllegalArgumentException.class, () -> t.start(List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new PlanTrials(0, 0.2, 3));
    }

    @Test
    void shouldSeeDriftOnlyAfterEnoughRequestsInARowOnEitherSideOfTheBaseline()
    {
        final PlanTrials t = new PlanTrials(3, 0.2, 3);
        t.start(List.of(plan(1, 1)), List.of("a"));
        run(t, 3, 100, 40, 40); // the baseline
        assertFalse(t.drifted());
        assertEquals(100, t.measuredNs());
        // two slow requests, a normal one, two slow ones: no drift
        run(t, 2, 130, 40, 40);
        run(t, 1, 100, 40, 40);
        run(t, 2, 130, 40, 40);
        assertFalse(t.drifted());
        // device 1 computes faster for three requests: drift, though the request is not faster
        run(t, 3, 100, 40, 20);
        assertTrue(t.drifted());
        assertTrue(t.decision().contains("device 1"), t.decision());
        t.rebase();
        assertFalse(t.drifted());
        run(t, 3, 90, 40, 20); // the new baseline
        run(t, 3, 95, 42, 22);
        assertFalse(t.drifted());
        assertEquals(90, t.measuredNs());
    }

    @Test
    void shouldSetTheBaselineOfAPlanChosenAfterTheTrialFromItsOwnRequests()
    {
        final PlanTrials t = new PlanTrials(2, 0.2, 2);
        t.start(List.of(plan(1, 1), plan(1, 0)), List.of("a", "b"));
        run(t, 2, 10, 5, 5);
        run(t, 2, 20, 20, 0); // b slower: back to a
        assertEquals("a", t.currentName());
        assertTrue(Double.isNaN(t.measuredNs()));
        run(t, 2, 11, 5, 5);
        assertEquals(11, t.measuredNs());
        run(t, 2, 11, 5, 5);
        assertFalse(t.drifted());
    }

    @Test
    void shouldTakeTurnsForEveryRoundAndJudgeOnAllOfThem()
    {
        final PlanTrials t = new PlanTrials(2, 2, 0.2, 3);
        t.start(List.of(plan(1, 1), plan(1, 0)), List.of("a", "b"));
        // round 1: a is faster; round 2 (the machine slowed for a): b is, and over both rounds b's median is lower
        assertEquals("a", t.currentName());
        assertTrue(run(t, 2, 10, 1, 1)[1]);
        assertEquals("b", t.currentName());
        assertTrue(run(t, 2, 12, 1, 1)[1], "back to a for round 2");
        assertEquals("a", t.currentName());
        assertTrue(t.trying());
        assertTrue(run(t, 2, 30, 1, 1)[1]);
        assertEquals("b", t.currentName());
        final boolean[] last = run(t, 2, 13, 1, 1);
        assertFalse(last[1], "b, measured last, stays without a switch");
        assertFalse(t.trying());
        assertEquals("b", t.currentName());
        assertEquals(13, t.measuredNs(), 1e-9, "b's baseline: its last round");
    }
}
