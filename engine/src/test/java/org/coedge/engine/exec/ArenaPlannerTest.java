package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ArenaPlannerTest
{
    @Test
    void shouldNeverOverlapBuffersAliveAtTheSameTime()
    {
        final SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++)
        {
            final ArenaPlanner planner = new ArenaPlanner();
            final int n = 1 + random.nextInt(30);
            final long[] size = new long[n];
            final int[] first = new int[n];
            final int[] last = new int[n];
            for (int i = 0; i < n; i++)
            {
                size[i] = 1 + random.nextInt(5000);
                first[i] = random.nextInt(20);
                last[i] = first[i] + random.nextInt(6);
                planner.add(size[i], first[i], last[i]);
            }
            final long total = planner.plan();
            assertTrue(total <= planner.sizeWithoutReuse());
            for (int i = 0; i < n; i++)
            {
                assertEquals(0, planner.offset(i) % ArenaPlanner.ALIGN_FLOATS);
                assertTrue(planner.offset(i) + size[i] <= total);
                for (int j = i + 1; j < n; j++)
                {
                    final boolean liveTogether = first[i] <= last[j] && first[j] <= last[i];
                    final boolean overlap = planner.offset(i) < planner.offset(j) + size[j] &&
                        planner.offset(j) < planner.offset(i) + size[i];
                    assertFalse(liveTogether && overlap, "buffers " + i + " and " + j + " overlap");
                }
            }
        }
    }

    @Test
    void shouldReuseSpaceOfDeadBuffersInAChain()
    {
        final ArenaPlanner planner = new ArenaPlanner();
        for (int step = 0; step < 10; step++)
        {
            planner.add(1024, step, step + 1);
        }
        assertEquals(2 * 1024, planner.plan());
        assertEquals(10 * 1024, planner.sizeWithoutReuse());
    }
}
