package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@link Plan}s. {@link #uniform} splits every spatial layer by fixed shares: either one PER_LAYER stage over
 * all spatial layers, each layer apportioned by its own height, or FUSED blocks of up to {@code fuseDepth} layers cut only where a single layer's output
 * crosses the cut; the first GLOBAL layer and everything after it run as one SINGLE_DEVICE stage on device 0.
 * {@link #autoFuse} picks the fuse depth whose uniform plan has the lowest {@link PlanEstimate} on a
 * {@link ClusterModel}.
 * <p>
 * Called by the engine's coordinator when devices join or estimates drift; stateless, any thread.
 */
public final class Planner
{
    private Planner()
    {
    }

    /**
     * @param shares    relative throughput per device ({@link Apportion#largestRemainder} rules; 0 gives no rows).
     * @param fuseDepth 1 for PER_LAYER exchange after every layer; N > 1 for FUSED blocks of up to N layers (a block
     *                  is longer when no valid cut comes sooner, e.g. inside an Inception or residual block).
     */
    public static Plan uniform(final LayerGraph graph, final double[] shares, final int fuseDepth)
    {
        return uniform(graph, shares, fuseDepth, 0);
    }

    /**
     * As {@link #uniform(LayerGraph, double[], int)}, with the plan's epoch.
     */
    public static Plan uniform(final LayerGraph graph, final double[] shares, final int fuseDepth, final long epoch)
    {
        if (fuseDepth < 1)
        {
            throw new IllegalArgumentException("fuseDepth must be >= 1: " + fuseDepth);
        }
        final int devices = shares.length;
        final int spatialEnd = graph.firstGlobalLayer();
        final List<Stage> stages = new ArrayList<>();
        if (fuseDepth == 1)
        {
            // each layer by its own height: a split of the last, shortest layer mapped onto the first would give
            // the big early layers that short layer's rounding (7 rows as 4:3 is 57:43, not 50:50)
            final RowRange[][] rowsByLayer = new RowRange[spatialEnd][];
            for (int id = 0; id < spatialEnd; id++)
            {
                rowsByLayer[id] = split(graph, id, shares);
            }
            stages.add(Stage.perLayer(0, rowsByLayer));
        }
        else
        {
            int start = 0;
            while (start < spatialEnd)
            {
                int end = -1;
                for (int b = start; b < spatialEnd; b++)
                {
                    final boolean cut = b == spatialEnd - 1 || isSingleLayerCut(graph, b);
                    if (cut && (end < 0 || b - start < fuseDepth))
                    {
                        end = b;
                    }
                    if (end >= 0 && b - start + 1 >= fuseDepth)
                    {
                        break;
                    }
                }
                stages.add(new Stage(start, end, Mode.FUSED, split(graph, end, shares)));
                start = end + 1;
            }
        }
        if (spatialEnd < graph.layerCount())
        {
            final RowRange[] rows = new RowRange[devices];
            java.util.Arrays.fill(rows, RowRange.EMPTY);
            rows[0] = RowRange.of(0, graph.layer(graph.layerCount() - 1).heightRows());
            stages.add(new Stage(spatialEnd, graph.layerCount() - 1, Mode.SINGLE_DEVICE, rows));
        }
        return new Plan(epoch, stages).validate(graph);
    }

    /**
     * As {@link #autoFuse(LayerGraph, double[], ClusterModel, int, long)} with epoch 0.
     */
    public static FuseChoice autoFuse(
        final LayerGraph graph, final double[] shares, final ClusterModel cluster, final int maxDepth)
    {
        return autoFuse(graph, shares, cluster, maxDepth, 0);
    }

    /**
     * Chooses the fusion depth for {@code --fuse auto}: builds {@link #uniform} plans for {@code fuseDepth} 1 to
     * {@code maxDepth} and keeps the one with the lowest {@link PlanEstimate}. Ties go to the smaller depth, so the
     * same inputs always give the same plan. Deeper fusion trades redundant FLOPs for fewer, larger exchanges, so a
     * slow or high-latency link favours deeper blocks and a fast one favours PER_LAYER.
     *
     * @param shares   relative throughput per device, as for {@link #uniform}; one per device of {@code cluster}.
     * @param maxDepth deepest fusion to try, {@code >= 1}; depths beyond the spatial layers give the same plan as
     *                 fusing them all and are not built again.
     * @throws IllegalArgumentException if {@code maxDepth < 1} or the device counts of shares and cluster differ.
     */
    public static FuseChoice autoFuse(
        final LayerGraph graph,
        final double[] shares,
        final ClusterModel cluster,
        final int maxDepth,
        final long epoch)
    {
        if (maxDepth < 1)
        {
            throw new IllegalArgumentException("maxDepth must be >= 1: " + maxDepth);
        }
        if (shares.length != cluster.deviceCount())
        {
            throw new IllegalArgumentException(shares.length + " shares but cluster has " + cluster.deviceCount() +
                " devices");
        }
        // a depth of at least the spatial layer count already fuses them into one block, so deeper is the same plan
        final int lastDepth = Math.min(maxDepth, Math.max(2, graph.firstGlobalLayer()));
        FuseChoice best = null;
        for (int depth = 1; depth <= lastDepth; depth++)
        {
            final Plan plan = uniform(graph, shares, depth, epoch);
            final PlanEstimate estimate = PlanEstimate.of(graph, plan, cluster);
            if (best == null || estimate.totalNs() < best.estimate().totalNs())
            {
                best = new FuseChoice(plan, depth, estimate);
            }
        }
        return best;
    }

    /**
     * @return true if every edge from a layer {@code <= b} to a layer {@code > b} leaves layer {@code b} itself, so
     * a block ending at {@code b} hands exactly one feature map to what follows.
     */
    public static boolean isSingleLayerCut(final LayerGraph graph, final int b)
    {
        for (int v = b + 1; v < graph.layerCount(); v++)
        {
            final Layer layer = graph.layer(v);
            for (int j = 0; j < layer.inputCount(); j++)
            {
                if (layer.inputId(j) < b)
                {
                    return false;
                }
            }
        }
        return true;
    }

    private static RowRange[] split(final LayerGraph graph, final int layer, final double[] shares)
    {
        return Apportion.rowRanges(
            Apportion.largestRemainder(shares, graph.layer(layer).heightRows(), new int[shares.length]));
    }
}
