package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The energy objective against exhaustive search: per shape, the LP's shares against a 1/16 grid of shares; over
 * all candidate plans, the choice against every shape on a 1/8 grid; and its promises: the deadline met whenever a
 * plan meets it, the latency-optimal plan with a warning when none does, deterministic.
 */
class EnergyPlannerTest
{
    private static LatencyModel[] devices(final LayerGraph g, final Random random, final int n)
    {
        final LatencyModel[] out = new LatencyModel[n];
        for (int d = 0; d < n; d++)
        {
            out[d] = AdaptivePlannerTest.device(g, 1e6 * (1 + random.nextInt(16)), random.nextInt(2000), 1L << 40);
        }
        return out;
    }

    private static PowerModel[] power(final Random random, final int n)
    {
        final PowerModel[] out = new PowerModel[n];
        for (int d = 0; d < n; d++)
        {
            out[d] = PowerModel.of(0.5 + random.nextInt(10), 0.1 * random.nextInt(30), random.nextInt(50),
                random.nextInt(50));
        }
        return out;
    }

    private static LinkModel links(final Random random, final int n)
    {
        return LinkModel.uniform(n, 1e6 * (1 + random.nextInt(100)), random.nextInt(20_000), random.nextInt(5000));
    }

    private static LayerGraph smallGraph(final Random random)
    {
        return random.nextBoolean() ? RandomGraphs.withHead(RandomGraphs.chain(random, 1 + random.nextInt(5))) :
            RandomGraphs.chain(random, 2 + random.nextInt(5));
    }

    @Test
    void shouldComeWithinAFewPercentOfTheBestGridSharesOfEachShape()
    {
        final Random random = new Random(21);
        int compared = 0;
        for (int trial = 0; trial < 60; trial++)
        {
            final LayerGraph g = smallGraph(random);
            final int n = 2 + random.nextInt(2);
            final LatencyModel[] devices = devices(g, random, n);
            final LinkModel links = links(random, n);
            final PowerModel[] power = power(random, n);
            final int[] outputs = RandomGraphs.outputs(g);
            final List<Integer> cuts = PlanShapes.cuts(g);
            if (cuts.isEmpty())
            {
                continue;
            }
            final int cut = cuts.get(random.nextInt(cuts.size()));
            final int[] subset = n == 2 ? new int[]{0, 1} : new int[]{0, 1, 2};
            final int depth = random.nextBoolean() ? 1 : 2;
            final int tail = cut + 1 < g.layerCount() ? random.nextInt(n) : 0;
            final double fastest = EnergyBruteForce.fastestOfShape(g, outputs, devices, links, 16, cut, subset,
                depth, tail);
            final double deadline = fastest * (1.05 + random.nextDouble());
            final double grid = EnergyBruteForce.bestJoulesOfShape(g, outputs, devices, links, power, deadline, 16,
                cut, subset, depth, tail);
            final EnergyChoice lp = EnergyPlanner.planShape(g, outputs, devices, links, power, deadline, cut, subset,
                depth, tail);
            final String what = "trial " + trial + " (" + PlanShapes.describe(g, cut, subset, depth, tail) + ")";
            assertNotNull(lp, what + ": a grid point meets the deadline, the LP found nothing");
            assertTrue(lp.choice().prediction().endNs() <= deadline, what);
            assertTrue(lp.energy().totalJoules() <= grid * 1.03,
                what + ": LP " + lp.energy().totalJoules() + " J, grid " + grid + " J");
            compared++;
        }
        assertTrue(compared >= 40, "compared " + compared);
    }

    @Test
    void shouldComeWithinAFewPercentOfExhaustiveSearchOverThePlans()
    {
        final Random random = new Random(23);
        for (int trial = 0; trial < 30; trial++)
        {
            final LayerGraph g = smallGraph(random);
            final int n = 2 + random.nextInt(2);
            final LatencyModel[] devices = devices(g, random, n);
            final LinkModel links = links(random, n);
            final PowerModel[] power = power(random, n);
            final int[] outputs = RandomGraphs.outputs(g);
            final double fastest = AdaptivePlanner.plan(g, outputs, devices, links, 0).prediction().endNs();
            final double deadline = fastest * (1 + random.nextDouble());
            final double exhaustive = EnergyBruteForce.bestJoules(g, outputs, devices, links, power, deadline, 8);
            final EnergyChoice choice = EnergyPlanner.plan(g, outputs, devices, links, power, deadline, 0);
            final String what = "trial " + trial + ": " + choice + ", exhaustive " + exhaustive + " J";
            assertTrue(choice.meetsDeadline(), what);
            assertNull(choice.warning());
            assertTrue(choice.choice().prediction().endNs() <= deadline, what);
            assertTrue(choice.energy().totalJoules() <= exhaustive * 1.03, what);
            assertTrue(choice.energy().totalJoules() <= choice.latencyEnergy().totalJoules() + 1e-12, what);
        }
    }

    @Test
    void shouldTakeTheFastestPlanAndSaySoWhenNothingMeetsTheDeadline()
    {
        final Random random = new Random(29);
        final LayerGraph g = RandomGraphs.withHead(RandomGraphs.chain(random, 4));
        final LatencyModel[] devices = devices(g, random, 3);
        final LinkModel links = links(random, 3);
        final int[] outputs = RandomGraphs.outputs(g);
        final PlanChoice fastest = AdaptivePlanner.plan(g, outputs, devices, links, 4);
        final EnergyChoice choice = EnergyPlanner.plan(g, outputs, devices, links, power(random, 3),
            fastest.prediction().endNs() * 0.5, 4);
        assertFalse(choice.meetsDeadline());
        assertEquals(fastest.plan().toString(), choice.choice().plan().toString());
        assertNotNull(choice.warning());
        assertTrue(choice.warning().startsWith("no plan is predicted to meet the deadline"), choice.warning());
        final EnergyChoice given = EnergyPlanner.plan(g, outputs, devices, links, power(new Random(29), 3),
            fastest.prediction().endNs() * 0.5, 4, fastest);
        assertFalse(given.meetsDeadline());
        assertEquals(fastest.plan().toString(), given.choice().plan().toString());
    }

    @Test
    void shouldRunEverythingOnTheFrugalDeviceWhenItMeetsTheDeadline()
    {
        final LayerGraph g = RandomGraphs.withHead(RandomGraphs.chain(new Random(31), 5));
        final int[] outputs = RandomGraphs.outputs(g);
        // device 1 is half as fast as device 0 and draws a third of its power
        final LatencyModel[] devices = {AdaptivePlannerTest.device(g, 2e7, 0, 1L << 30),
            AdaptivePlannerTest.device(g, 1e7, 0, 1L << 30)};
        final PowerModel[] power = {PowerModel.of(9, 0.3, 1, 1), PowerModel.of(3, 0.1, 1, 1)};
        final LinkModel links = LinkModel.uniform(2, 1e8, 10_000, 1000);
        final double fastAlone = PlanSimulator.predict(g, Planner.hybrid(g, new double[]{1, 0}, 1, -1, 0, 0, false),
            outputs, devices, links).endNs();
        final EnergyChoice loose = EnergyPlanner.plan(g, outputs, devices, links, power, 3 * fastAlone, 0);
        assertTrue(loose.meetsDeadline(), loose.toString());
        for (final Step s : loose.choice().programs().get(0).steps())
        {
            assertTrue(s.kind() != Step.Kind.COMPUTE, "device 0 computes nothing: " + loose);
        }
        assertTrue(loose.energy().totalJoules() < loose.latencyEnergy().totalJoules());

        // under 1.5x the slow device alone is too slow, but the deadline is still met
        final EnergyChoice tight = EnergyPlanner.plan(g, outputs, devices, links, power, 1.5 * fastAlone, 0);
        assertTrue(tight.meetsDeadline(), tight.toString());
        assertTrue(tight.choice().prediction().endNs() <= 1.5 * fastAlone);
        assertTrue(tight.energy().totalJoules() > loose.energy().totalJoules());
    }

    @Test
    void shouldChooseTheSamePlanEveryTime()
    {
        final Random random = new Random(37);
        for (int trial = 0; trial < 5; trial++)
        {
            final LayerGraph g = RandomGraphs.any(random);
            final long seed = random.nextLong();
            final EnergyChoice a = plan(g, seed);
            final EnergyChoice b = plan(g, seed);
            assertEquals(a.choice().plan().toString(), b.choice().plan().toString());
            assertEquals(a.energy().totalJoules(), b.energy().totalJoules());
        }
    }

    private static EnergyChoice plan(final LayerGraph g, final long seed)
    {
        final Random r = new Random(seed);
        final LatencyModel[] devices = devices(g, r, 3);
        final LinkModel links = links(r, 3);
        final PowerModel[] power = power(r, 3);
        final int[] outputs = RandomGraphs.outputs(g);
        final double fastest = AdaptivePlanner.plan(g, outputs, devices, links, 0).prediction().endNs();
        return EnergyPlanner.plan(g, outputs, devices, links, power, 1.25 * fastest, 0);
    }
}
