package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

/**
 * Exhaustive search over the plan shapes {@link AdaptivePlanner} considers, with shares on a 1/8 grid: every
 * device alone; every split of layers {@code [0, c]} at every single-layer cut, over every non-empty subset of the
 * devices with every positive composition of 8 eighths, at fuse depths 1, 2, 4 and 8, with the rest on every
 * device. Where the graph has a run of fully-connected layers ({@link Planner#featureRun}), each of those plans is also
 * tried with the run split by output features ({@link Mode#FEATURES}) over every composition of 8 eighths. For
 * graphs of up to 8 layers and 3 devices (2 with a feature run).
 */
final class BruteForce
{
    private BruteForce()
    {
    }

    /** @return the least predicted end-to-end time among the feasible plans. */
    static double bestNs(final LayerGraph g, final int[] outputs, final LatencyModel[] devices, final LinkModel links)
    {
        final int n = devices.length;
        double best = Double.POSITIVE_INFINITY;
        final List<double[]> grid = grid(n, 8);
        final List<double[]> featureGrid = new ArrayList<>();
        featureGrid.add(null);
        if (Planner.featureRun(g) != null)
        {
            featureGrid.addAll(grid);
        }
        for (int d = 0; d < n; d++)
        {
            for (final double[] features : featureGrid)
            {
                best = Math.min(best, ns(g, Planner.hybrid(g, AdaptivePlannerTest.unit(n, d), 1, -1, d, 0, false,
                    false, features), outputs, devices, links));
            }
        }
        for (int cut = 1; cut < g.firstGlobalLayer(); cut++)
        {
            if (!Planner.isSingleLayerCut(g, cut))
            {
                continue;
            }
            for (final double[] shares : grid)
            {
                for (final int depth : new int[]{1, 2, 4, 8})
                {
                    for (int tail = 0; tail < (cut + 1 < g.layerCount() ? n : 1); tail++)
                    {
                        for (final double[] features : featureGrid)
                        {
                            final double v = ns(g, Planner.hybrid(g, shares, depth, cut, tail, 0, true, true,
                                features), outputs, devices, links);
                            best = Math.min(best, v);
                        }
                    }
                }
            }
        }
        return best;
    }

    /** @return every way to share {@code parts} whole parts among {@code n} devices (zero allowed). */
    static List<double[]> grid(final int n, final int parts)
    {
        final List<double[]> out = new ArrayList<>();
        compositions(new double[n], 0, parts, out);
        return out;
    }

    /** Every way to give {@code left} parts to devices {@code d..n-1} (zero allowed), each added to {@code out}. */
    private static void compositions(final double[] shares, final int d, final int left, final List<double[]> out)
    {
        if (d == shares.length - 1)
        {
            shares[d] = left;
            out.add(shares.clone());
            return;
        }
        for (int k = 0; k <= left; k++)
        {
            shares[d] = k;
            compositions(shares, d + 1, left - k, out);
        }
    }

    private static double ns(
        final LayerGraph g, final Plan plan, final int[] outputs, final LatencyModel[] devices, final LinkModel links)
    {
        final Prediction p = PlanSimulator.predict(g, plan, outputs, devices, links);
        for (int d = 0; d < devices.length; d++)
        {
            if (p.memoryBytes(d) > devices[d].memoryBytes())
            {
                return Double.POSITIVE_INFINITY;
            }
        }
        return p.endNs();
    }
}
