package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The quota's arithmetic against hand-worked periods (0.45 cores of 10 ms periods: 4.5 ms run, 5.5 ms stall). */
class CpuQuotaTest
{
    private static final double MS = 1e6;
    private final CpuQuota q = new CpuQuota(0.45, 10 * MS);

    @Test
    void shouldRunWorkThatFitsTheBudgetAtFullSpeed()
    {
        assertEquals(3 * MS, q.run(0, 3 * MS, new double[]{-1, 0}), 1);
    }

    @Test
    void shouldStallAtEveryPeriodOnceTheBudgetIsSpent()
    {
        // 10 ms of work: 4.5 in [0, 10), 4.5 in [10, 20), 1 in [20, 30) -> done at 21 ms
        assertEquals(21 * MS, q.run(0, 10 * MS, new double[]{-1, 0}), 1);
    }

    @Test
    void shouldCarryTheBudgetUsedBetweenSteps()
    {
        final double[] used = {-1, 0};
        final double t = q.run(0, 3 * MS, used); // 3 of 4.5 used
        // 3 more ms: 1.5 left in this period, then the rest from 10 ms
        assertEquals(11.5 * MS, q.run(t, 3 * MS, used), 1);
        // a wait until 25 ms: a new period with its budget whole
        assertEquals(29 * MS, q.run(25 * MS, 4 * MS, used), 1);
        // work late in a period runs only until the period ends
        assertEquals(40 * MS + 2 * MS, q.run(38 * MS, 4 * MS, new double[]{-1, 0}), 1);
    }

    @Test
    void shouldPredictAQuotaDeviceAloneAsItsWorkOverItsCoresForLongWork()
    {
        final double work = 100 * MS;
        final double wall = q.run(0, work, new double[]{-1, 0});
        assertEquals(work / 0.45, wall, 10 * MS);
    }

    @Test
    void shouldRefuseQuotasThatAreNone()
    {
        assertThrows(IllegalArgumentException.class, () -> new CpuQuota(1.0, 10 * MS));
        assertThrows(IllegalArgumentException.class, () -> new CpuQuota(0.5, 0));
    }
}
