package org.coedge.planner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The plan shapes the searches consider, each "split layers {@code [0, cut]} by rows over a subset of the devices,
 * in blocks of a fuse depth, then run the rest on a tail device" ({@link Planner#hybrid}): which cuts, which device
 * subsets, which fuse depths and which tail devices. {@link AdaptivePlanner} balances shares for each shape to
 * minimise latency, {@link EnergyPlanner} solves each one's shares for least energy under a deadline.
 * <p>
 * Stateless; any thread.
 */
final class PlanShapes
{
    static final int ALL_CUTS_LAYERS = 16;
    static final int ALL_SUBSETS_DEVICES = 4;
    static final int[] FUSE_DEPTHS = {1, 2, 4, 8};

    /** Receives one shape: the speed is each device's on layers {@code [0, cut]} ({@link #speedTo}). */
    interface Visitor
    {
        void shape(int cut, int[] subset, int depth, int tail, double[] speed);
    }

    private PlanShapes()
    {
    }

    /**
     * Visits every shape of a small graph's search, in a fixed order: each cut ({@link #cuts}), each subset
     * ({@link #subsets}), each fuse depth up to the first that fuses the whole split part (only 1 for one device),
     * each tail ({@link #tails}); a split on one device that is also the tail, before the last spatial layer, is
     * left out (the device alone covers it).
     */
    static void everyShape(final LayerGraph graph, final LatencyModel[] devices, final Visitor visitor)
    {
        final int spatialEnd = graph.firstGlobalLayer();
        for (final int cut : cuts(graph))
        {
            final double[] speed = speedTo(graph, devices, cut);
            for (final int[] subset : subsets(devices.length, speed))
            {
                for (final int depth : FUSE_DEPTHS)
                {
                    for (final int tail : tails(graph, devices, cut))
                    {
                        if (subset.length == 1 && subset[0] == tail && cut < spatialEnd - 1)
                        {
                            continue; // the same device throughout: "alone" already covers it
                        }
                        visitor.shape(cut, subset, depth, tail, speed);
                    }
                    if (depth > cut || subset.length == 1)
                    {
                        break; // deeper blocks fuse the same layers into one
                    }
                }
            }
        }
    }

    /** @return each device's speed on layers {@code [0, cut]}: the inverse of its predicted time for them. */
    static double[] speedTo(final LayerGraph graph, final LatencyModel[] devices, final int cut)
    {
        final double[] speed = new double[devices.length];
        for (int d = 0; d < devices.length; d++)
        {
            double ns = 0;
            for (int id = 0; id <= cut; id++)
            {
                ns += devices[d].predictNs(id, graph.layer(id).heightRows());
            }
            speed[d] = 1 / Math.max(1, ns);
        }
        return speed;
    }

    /**
     * @return the last layers of the split parts to try, in increasing order: every single-layer cut of the spatial
     * part for graphs of up to {@value #ALL_CUTS_LAYERS} layers, otherwise those at the end of a resolution.
     */
    static List<Integer> cuts(final LayerGraph graph)
    {
        final int spatialEnd = graph.firstGlobalLayer();
        final List<Integer> out = new ArrayList<>();
        for (int c = 1; c < spatialEnd; c++)
        {
            if (graph.layer(c).isSource() || !Planner.isSingleLayerCut(graph, c))
            {
                continue;
            }
            final boolean resolutionEnds = c == spatialEnd - 1 ||
                graph.layer(c + 1).heightRows() != graph.layer(c).heightRows();
            if (graph.layerCount() <= ALL_CUTS_LAYERS || resolutionEnds)
            {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * @return device subsets to split over, each in device order: all of them for up to
     * {@value #ALL_SUBSETS_DEVICES} devices, otherwise the fastest k for every k, with and without the coordinator.
     */
    static List<int[]> subsets(final int n, final double[] speed)
    {
        final List<int[]> out = new ArrayList<>();
        if (n <= ALL_SUBSETS_DEVICES)
        {
            for (int mask = 1; mask < 1 << n; mask++)
            {
                out.add(members(n, mask));
            }
            return out;
        }
        final Integer[] order = new Integer[n];
        for (int d = 0; d < n; d++)
        {
            order[d] = d;
        }
        Arrays.sort(order, (a, b) -> speed[a] != speed[b] ? Double.compare(speed[b], speed[a]) :
            Integer.compare(a, b));
        long mask = 0;
        final List<Long> seen = new ArrayList<>();
        for (int k = 0; k < n; k++)
        {
            mask |= 1L << order[k];
            for (final long m : new long[]{mask, mask | 1L})
            {
                if (!seen.contains(m))
                {
                    seen.add(m);
                    out.add(members(n, m));
                }
            }
        }
        return out;
    }

    /** @return devices to run the layers after {@code cut} on: the coordinator, the fastest there, or any. */
    static int[] tails(final LayerGraph graph, final LatencyModel[] devices, final int cut)
    {
        final int n = devices.length;
        if (cut + 1 >= graph.layerCount())
        {
            return new int[]{0};
        }
        if (n <= 3)
        {
            final int[] all = new int[n];
            for (int d = 0; d < n; d++)
            {
                all[d] = d;
            }
            return all;
        }
        int fastest = 0;
        double fastestNs = Double.POSITIVE_INFINITY;
        for (int d = 0; d < n; d++)
        {
            double ns = 0;
            for (int id = cut + 1; id < graph.layerCount(); id++)
            {
                ns += devices[d].predictNs(id, graph.layer(id).heightRows());
            }
            if (ns < fastestNs)
            {
                fastestNs = ns;
                fastest = d;
            }
        }
        return fastest == 0 ? new int[]{0} : new int[]{0, fastest};
    }

    /** @return shares giving every row to device {@code d} of {@code n}. */
    static double[] unit(final int n, final int d)
    {
        final double[] s = new double[n];
        s[d] = 1;
        return s;
    }

    /** @return a one-line account of a shape, e.g. for {@link PlanChoice#description()}. */
    static String describe(final LayerGraph graph, final int cut, final int[] subset, final int depth, final int tail)
    {
        final String split = (subset.length == 1 ? "layers 0-" + cut + " on device " + subset[0] :
            "rows of layers 0-" + cut + " over devices " + Arrays.toString(subset)) +
            (depth == 1 ? " (exchange per layer)" : " (fused blocks of up to " + depth + ")");
        return cut + 1 < graph.layerCount() ? split + ", then layers " + (cut + 1) + "-" +
            (graph.layerCount() - 1) + " on device " + tail : split;
    }

    /**
     * @return a one-line account of a shape whose fully-connected run ({@link Planner#featureRun}) is split by output
     * features by {@code featureShares}, its stages in the order they run; {@code cut} -1 for no spatial split
     * (everything else on {@code tail}).
     */
    static String describe(
        final LayerGraph graph, final int cut, final double[] shares, final int depth, final int tail,
        final double[] featureShares)
    {
        final int[] run = Planner.featureRun(graph);
        final int[] subset = positive(shares);
        final String split = subset.length == 1 ? "layers 0-" + cut + " on device " + subset[0] :
            "rows of layers 0-" + cut + " over devices " + Arrays.toString(subset) +
            (depth == 1 ? " (exchange per layer)" : " (fused blocks of up to " + depth + ")");
        final List<String> stages = new ArrayList<>();
        if (cut >= 0)
        {
            stages.add(split);
        }
        if (run[0] > cut + 1)
        {
            stages.add("layers " + (cut + 1) + "-" + (run[0] - 1) + " on device " + tail);
        }
        stages.add("output features of layers " + run[0] + "-" + run[1] + " over devices " +
            Arrays.toString(positive(featureShares)) + " (MoDNN)");
        if (run[1] + 1 < graph.layerCount())
        {
            stages.add("layers " + (run[1] + 1) + "-" + (graph.layerCount() - 1) + " on device " + tail);
        }
        return String.join(", then ", stages);
    }

    private static int[] positive(final double[] shares)
    {
        long mask = 0;
        for (int d = 0; d < shares.length; d++)
        {
            mask |= shares[d] > 0 ? 1L << d : 0;
        }
        return members(shares.length, mask);
    }

    private static int[] members(final int n, final long mask)
    {
        final int[] out = new int[Long.bitCount(mask)];
        int i = 0;
        for (int d = 0; d < n; d++)
        {
            if ((mask & (1L << d)) != 0)
            {
                out[i++] = d;
            }
        }
        return out;
    }
}
