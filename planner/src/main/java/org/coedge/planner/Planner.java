package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@link Plan}s. {@link #uniform} splits every spatial layer by fixed shares: either one PER_LAYER stage over
 * all spatial layers, each layer apportioned at its own height, or FUSED blocks of up to {@code fuseDepth} layers cut
 * only where a single layer's output crosses the cut; the first GLOBAL layer and everything after it run as one
 * SINGLE_DEVICE stage on device 0.
 * {@link #proportional} builds the same stages from measured throughputs and gives every working device at least a
 * halo's height of rows of each split layer. {@link #autoFuse} picks the fuse depth whose uniform plan has the lowest
 * {@link PlanEstimate} on a {@link ClusterModel}.
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
        return build(graph, shares, fuseDepth, epoch, false);
    }

    /**
     * Splits every spatial layer in proportion to each device's measured throughput, with the stages of
     * {@link #uniform(LayerGraph, double[], int, long)}. Each device with a positive throughput gets at least
     * {@link #haloRows(Layer)} rows of every layer split at its own height (every spatial layer for
     * {@code fuseDepth} 1, the last layer of each FUSED block otherwise): a 3x3 convolution gives 2. A thinner
     * slice would have a slow device fetch about as many halo rows as it computes, paying a message for little work.
     * Where a layer has fewer rows than that minimum times the devices with positive throughput, the minimum drops
     * to what fits, {@code rows / devices} rounded down. A device with throughput 0 gets no rows; the rows left over
     * by the minimums go by largest remainder.
     *
     * @param throughputs measured rows (or FLOPs) per second per device, each finite and {@code >= 0}, not all 0;
     *                    only their ratios matter.
     * @param fuseDepth   as for {@link #uniform(LayerGraph, double[], int)}.
     * @throws IllegalArgumentException if a throughput is negative, NaN or infinite, all are 0, there are none, or
     *                                  {@code fuseDepth < 1}.
     */
    public static Plan proportional(
        final LayerGraph graph, final double[] throughputs, final int fuseDepth, final long epoch)
    {
        if (throughputs.length == 0)
        {
            throw new IllegalArgumentException("need a throughput per device, got none");
        }
        double sum = 0;
        for (int d = 0; d < throughputs.length; d++)
        {
            final double t = throughputs[d];
            if (Double.isNaN(t) || Double.isInfinite(t) || t < 0)
            {
                throw new IllegalArgumentException("throughput of device " + d + " must be finite and >= 0: " + t);
            }
            sum += t;
        }
        if (sum == 0)
        {
            throw new IllegalArgumentException("every device has throughput 0, so none can take rows: " +
                java.util.Arrays.toString(throughputs));
        }
        if (Double.isInfinite(sum))
        {
            throw new IllegalArgumentException("throughputs overflow when summed; scale them down: " +
                java.util.Arrays.toString(throughputs));
        }
        return build(graph, throughputs, fuseDepth, epoch, true);
    }

    /**
     * The fewest rows {@link #proportional} gives a working device of {@code layer}: the input rows one output row
     * needs beyond one, over the layer's inputs ({@code (k - 1) * d} for a window of kernel {@code k} and dilation
     * {@code d} on a tall enough input, 0 for pointwise layers and sources).
     */
    public static int haloRows(final Layer layer)
    {
        int widest = 1;
        for (int j = 0; j < layer.inputCount(); j++)
        {
            final RowMap map = layer.rowMap(j);
            if (map.isGlobal())
            {
                continue;
            }
            for (int o = 0; o < map.outputHeightRows(); o++)
            {
                widest = Math.max(widest, map.end(o) - map.first(o));
            }
        }
        return widest - 1;
    }

    private static Plan build(
        final LayerGraph graph,
        final double[] shares,
        final int fuseDepth,
        final long epoch,
        final boolean haloMinimum)
    {
        return hybrid(graph, shares, fuseDepth, graph.firstGlobalLayer() - 1, 0, epoch, haloMinimum);
    }

    /**
     * A split of layers {@code [0, splitLast]} by {@code shares} (PER_LAYER for {@code fuseDepth} 1, FUSED blocks
     * otherwise, as {@link #uniform}), then everything after it as one SINGLE_DEVICE stage on {@code tailDevice}.
     * With one share positive the split part runs on that device alone, and with {@code splitLast} -1 the whole
     * model runs on {@code tailDevice}: the vertical split of Neurosurgeon / Edgent is a split part on one device
     * and a tail on another.
     *
     * @param splitLast   last layer of the split part, {@code -1} for none, below {@link LayerGraph#firstGlobalLayer()}.
     * @param haloMinimum whether every working device gets at least a halo's height of rows (see
     *                    {@link #proportional}).
     * @throws IllegalArgumentException if {@code splitLast} or {@code tailDevice} is out of range.
     */
    public static Plan hybrid(
        final LayerGraph graph,
        final double[] shares,
        final int fuseDepth,
        final int splitLast,
        final int tailDevice,
        final long epoch,
        final boolean haloMinimum)
    {
        return hybrid(graph, shares, fuseDepth, splitLast, tailDevice, epoch, haloMinimum, false);
    }

    /**
     * As {@link #hybrid(LayerGraph, double[], int, int, int, long, boolean)}; with {@code diffuse}, a PER_LAYER
     * split carries each layer's rounding forward in FLOPs: a device given a row more than its share of one layer
     * gets correspondingly less of the next, so that over the split its work follows the shares even where layers
     * have few rows (VGG-16's 14- and 7-row maps over four devices would otherwise round the same way each time).
     */
    public static Plan hybrid(
        final LayerGraph graph,
        final double[] shares,
        final int fuseDepth,
        final int splitLast,
        final int tailDevice,
        final long epoch,
        final boolean haloMinimum,
        final boolean diffuse)
    {
        if (fuseDepth < 1)
        {
            throw new IllegalArgumentException("fuseDepth must be >= 1: " + fuseDepth);
        }
        final int devices = shares.length;
        final int spatialEnd = splitLast + 1;
        if (splitLast < -1 || spatialEnd > graph.firstGlobalLayer())
        {
            throw new IllegalArgumentException("split part must end before the first global layer " +
                graph.firstGlobalLayer() + ": " + splitLast);
        }
        if (tailDevice < 0 || tailDevice >= devices)
        {
            throw new IllegalArgumentException("tail device " + tailDevice + " not in [0, " + devices + ")");
        }
        final List<Stage> stages = new ArrayList<>();
        if (spatialEnd == 0)
        {
            // nothing split
        }
        else if (fuseDepth == 1)
        {
            // each layer by its own height: a split of the last, shortest layer mapped onto the first would give
            // the big early layers that short layer's rounding (7 rows as 4:3 is 57:43, not 50:50)
            final RowRange[][] rowsByLayer = new RowRange[spatialEnd][];
            final double[] carry = new double[devices];
            double total = 0;
            for (final double v : shares)
            {
                total += v;
            }
            for (int id = 0; id < spatialEnd; id++)
            {
                final Layer layer = graph.layer(id);
                if (!diffuse || layer.flopsPerRow() == 0)
                {
                    rowsByLayer[id] = split(graph, id, shares, haloMinimum);
                    continue;
                }
                final double[] adjusted = new double[devices];
                final double[] ideal = new double[devices];
                for (int d = 0; d < devices; d++)
                {
                    ideal[d] = shares[d] / total * layer.heightRows();
                    adjusted[d] = shares[d] > 0 ? Math.max(1e-9, ideal[d] + carry[d] / layer.flopsPerRow()) : 0;
                }
                rowsByLayer[id] = split(graph, id, adjusted, haloMinimum);
                for (int d = 0; d < devices; d++)
                {
                    carry[d] += (ideal[d] - rowsByLayer[id][d].rows()) * layer.flopsPerRow();
                }
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
                stages.add(new Stage(start, end, Mode.FUSED, split(graph, end, shares, haloMinimum)));
                start = end + 1;
            }
        }
        if (spatialEnd < graph.layerCount())
        {
            final RowRange[] rows = new RowRange[devices];
            java.util.Arrays.fill(rows, RowRange.EMPTY);
            rows[tailDevice] = RowRange.of(0, graph.layer(graph.layerCount() - 1).heightRows());
            stages.add(new Stage(spatialEnd, graph.layerCount() - 1, Mode.SINGLE_DEVICE, rows));
        }
        return new Plan(epoch, stages).validate(graph);
    }

    /**
     * As {@link #hybrid(LayerGraph, double[], int, int, int, long, boolean, boolean)}, with the graph's run of
     * fully-connected layers ({@link #featureRun}) split by output features in one {@link Mode#FEATURES} stage
     * (MoDNN): each layer's features apportioned by {@code featureShares} (largest remainder, 0 gives none), the
     * layers between the split part and the run, and those after the run, on {@code tailDevice}.
     *
     * @param featureShares relative share of every fully-connected layer's output features per device, or null for
     *                      no feature split (the run then goes to {@code tailDevice} like the rest).
     * @throws IllegalArgumentException as the other {@code hybrid}, or if feature shares are given for a graph
     *                                  without a run of fully-connected layers or of another device count.
     */
    public static Plan hybrid(
        final LayerGraph graph,
        final double[] shares,
        final int fuseDepth,
        final int splitLast,
        final int tailDevice,
        final long epoch,
        final boolean haloMinimum,
        final boolean diffuse,
        final double[] featureShares)
    {
        final Plan plan = hybrid(graph, shares, fuseDepth, splitLast, tailDevice, epoch, haloMinimum, diffuse);
        if (featureShares == null)
        {
            return plan;
        }
        final int[] run = featureRun(graph);
        if (run == null)
        {
            throw new IllegalArgumentException("graph has no run of fully-connected layers to split by features");
        }
        if (featureShares.length != shares.length)
        {
            throw new IllegalArgumentException(featureShares.length + " feature shares for " + shares.length +
                " devices");
        }
        final List<Stage> stages = new ArrayList<>(plan.stages());
        final Stage tail = stages.remove(stages.size() - 1);
        if (tail.mode() != Mode.SINGLE_DEVICE || tail.firstLayer() > run[0])
        {
            throw new IllegalArgumentException("split part ends at layer " + splitLast +
                ", inside the fully-connected run from layer " + run[0]);
        }
        if (tail.firstLayer() < run[0])
        {
            stages.add(single(graph, tail.firstLayer(), run[0] - 1, tailDevice, shares.length));
        }
        final RowRange[][] features = new RowRange[run[1] - run[0] + 1][];
        for (int l = 0; l < features.length; l++)
        {
            features[l] = Apportion.rowRanges(Apportion.largestRemainder(featureShares,
                graph.layer(run[0] + l).channels(), new int[featureShares.length]));
        }
        stages.add(Stage.features(run[0], features));
        if (run[1] + 1 < graph.layerCount())
        {
            stages.add(single(graph, run[1] + 1, graph.layerCount() - 1, tailDevice, shares.length));
        }
        return new Plan(epoch, stages).validate(graph);
    }

    /**
     * @return {@code {first, last}} of the first run of layers that a {@link Mode#FEATURES} stage can split: after
     * the spatial part, each a fully-connected layer with a {@code 1 x 1 x C} output ({@link Plan#isFeatureLayer})
     * reading only the one before it (the first reads anything), and no layer outside the run reading one of its
     * layers but the last; null if the graph has none (VGG-16's FC6-FC8 is one, ResNet-18's single FC another).
     */
    public static int[] featureRun(final LayerGraph graph)
    {
        int first = -1;
        for (int id = graph.firstGlobalLayer(); id < graph.layerCount() && first < 0; id++)
        {
            if (Plan.isFeatureLayer(graph.layer(id)))
            {
                first = id;
            }
        }
        if (first < 0)
        {
            return null;
        }
        int last = first;
        while (last + 1 < graph.layerCount() && Plan.isFeatureLayer(graph.layer(last + 1)) &&
            graph.layer(last + 1).inputCount() == 1 && graph.layer(last + 1).inputId(0) == last &&
            graph.readers(last).length == 1)
        {
            last++;
        }
        for (int id = first; id < last; id++)
        {
            final int[] readers = graph.readers(id);
            if (readers.length != 1 || readers[0] != id + 1 || graph.isOutput(id))
            {
                return null;
            }
        }
        return new int[]{first, last};
    }

    private static Stage single(
        final LayerGraph graph, final int first, final int last, final int device, final int devices)
    {
        final RowRange[] rows = new RowRange[devices];
        java.util.Arrays.fill(rows, RowRange.EMPTY);
        rows[device] = RowRange.of(0, graph.layer(last).heightRows());
        return new Stage(first, last, Mode.SINGLE_DEVICE, rows);
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

    private static RowRange[] split(
        final LayerGraph graph, final int id, final double[] shares, final boolean haloMinimum)
    {
        final Layer layer = graph.layer(id);
        final int[] minimum = new int[shares.length];
        if (haloMinimum)
        {
            int working = 0;
            for (final double share : shares)
            {
                working += share > 0 ? 1 : 0;
            }
            final int rows = Math.min(haloRows(layer), layer.heightRows() / working);
            for (int d = 0; d < shares.length; d++)
            {
                minimum[d] = shares[d] > 0 ? rows : 0;
            }
        }
        return Apportion.rowRanges(Apportion.largestRemainder(shares, layer.heightRows(), minimum));
    }
}
