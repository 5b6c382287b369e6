package org.coedge.planner;

/**
 * Exhaustive search for the least predicted energy under a deadline over the plan shapes {@link EnergyPlanner}
 * considers, with shares on a grid: every device alone; every split of layers {@code [0, c]} at every single-layer
 * cut over every composition of the grid's parts (a part 0 leaves a device out), at fuse depths 1, 2, 4 and 8, with
 * the rest on every device. For graphs of up to 8 layers and 3 devices.
 */
final class EnergyBruteForce
{
    private EnergyBruteForce()
    {
    }

    /** @return the least energy among plans meeting the deadline and fitting memory, infinite if none does. */
    static double bestJoules(
        final LayerGraph g, final int[] outputs, final LatencyModel[] devices, final LinkModel links,
        final PowerModel[] power, final double deadlineNs, final int parts)
    {
        final int n = devices.length;
        double best = Double.POSITIVE_INFINITY;
        for (int d = 0; d < n; d++)
        {
            best = Math.min(best, joules(g, Planner.hybrid(g, AdaptivePlannerTest.unit(n, d), 1, -1, d, 0, false),
                outputs, devices, links, power, deadlineNs));
        }
        for (int cut = 1; cut < g.firstGlobalLayer(); cut++)
        {
            if (!Planner.isSingleLayerCut(g, cut))
            {
                continue;
            }
            for (final double[] shares : BruteForce.grid(n, parts))
            {
                for (final int depth : new int[]{1, 2, 4, 8})
                {
                    for (int tail = 0; tail < (cut + 1 < g.layerCount() ? n : 1); tail++)
                    {
                        best = Math.min(best, joules(g, Planner.hybrid(g, shares, depth, cut, tail, 0, true, true),
                            outputs, devices, links, power, deadlineNs));
                    }
                }
            }
        }
        return best;
    }

    /** @return the least energy of one shape over the grid, infinite if no grid point meets the deadline. */
    static double bestJoulesOfShape(
        final LayerGraph g, final int[] outputs, final LatencyModel[] devices, final LinkModel links,
        final PowerModel[] power, final double deadlineNs, final int parts, final int cut, final int[] subset,
        final int depth, final int tail)
    {
        double best = Double.POSITIVE_INFINITY;
        for (final double[] shares : BruteForce.grid(subset.length, parts))
        {
            final double[] full = new double[devices.length];
            for (int i = 0; i < subset.length; i++)
            {
                full[subset[i]] = shares[i];
            }
            best = Math.min(best, joules(g, Planner.hybrid(g, full, depth, cut, tail, 0, true, true), outputs,
                devices, links, power, deadlineNs));
        }
        return best;
    }

    /** @return the least predicted latency of one shape over the grid. */
    static double fastestOfShape(
        final LayerGraph g, final int[] outputs, final LatencyModel[] devices, final LinkModel links, final int parts,
        final int cut, final int[] subset, final int depth, final int tail)
    {
        double best = Double.POSITIVE_INFINITY;
        for (final double[] shares : BruteForce.grid(subset.length, parts))
        {
            final double[] full = new double[devices.length];
            for (int i = 0; i < subset.length; i++)
            {
                full[subset[i]] = shares[i];
            }
            final Plan plan = Planner.hybrid(g, full, depth, cut, tail, 0, true, true);
            best = Math.min(best, PlanSimulator.predict(g, plan, outputs, devices, links).endNs());
        }
        return best;
    }

    static double joules(
        final LayerGraph g, final Plan plan, final int[] outputs, final LatencyModel[] devices, final LinkModel links,
        final PowerModel[] power, final double deadlineNs)
    {
        final Prediction p = PlanSimulator.predict(g, plan, outputs, devices, links);
        for (int d = 0; d < devices.length; d++)
        {
            if (p.memoryBytes(d) > devices[d].memoryBytes())
            {
                return Double.POSITIVE_INFINITY;
            }
        }
        return p.endNs() <= deadlineNs ? PlanEnergy.of(p, power).totalJoules() : Double.POSITIVE_INFINITY;
    }
}
