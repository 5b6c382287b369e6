package org.coedge.planner;

/**
 * The rows each device computes of each layer of a {@link Stage}: for PER_LAYER the stage's own split of each layer
 * when it carries one ({@link Stage#perLayer}), else every layer's height apportioned in proportion to the devices'
 * shares of the last layer; for FUSED the rows chain back from each device's range of
 * the last layer ({@link RowRanges#backward}), and every other layer of the block whose rows are wanted beyond the
 * block's own layers (a model output, a layer no one reads, a layer read by a later stage) also gets its height
 * apportioned by the same shares, so that the union over devices holds all its rows; for SINGLE_DEVICE the one
 * device computes every row; for FEATURES the stage's own feature ranges of each layer (output features, not rows).
 * <p>
 * Pure function shared by {@link PlanCost} and the engine's plan compiler, so both agree; any thread.
 */
public final class StageRows
{
    private StageRows()
    {
    }

    /**
     * @return {@code rows[device][layer - stage.firstLayer()]}.
     */
    public static RowRange[][] computed(final LayerGraph graph, final Stage stage)
    {
        final int devices = stage.deviceCount();
        final int layers = stage.layerCount();
        final RowRange[][] rows = new RowRange[devices][layers];
        final int lastHeight = graph.layer(stage.lastLayer()).heightRows();
        switch (stage.mode())
        {
            case SINGLE_DEVICE:
            {
                final int owner = stage.firstDeviceWithRows();
                for (int d = 0; d < devices; d++)
                {
                    for (int l = 0; l < layers; l++)
                    {
                        rows[d][l] = d == owner ?
                            RowRange.of(0, graph.layer(stage.firstLayer() + l).heightRows()) : RowRange.EMPTY;
                    }
                }
                break;
            }
            case PER_LAYER:
            {
                if (stage.coveredRows() != lastHeight)
                {
                    throw new IllegalArgumentException(stage + " does not cover height " + lastHeight);
                }
                if (stage.hasLayerRows())
                {
                    for (int d = 0; d < devices; d++)
                    {
                        for (int l = 0; l < layers; l++)
                        {
                            rows[d][l] = stage.layerRows(l, d);
                        }
                    }
                    break;
                }
                final double[] shares = new double[devices];
                for (int d = 0; d < devices; d++)
                {
                    shares[d] = stage.deviceRows(d).rows();
                }
                for (int l = 0; l < layers; l++)
                {
                    final int id = stage.firstLayer() + l;
                    final RowRange[] ranges = id == stage.lastLayer() ?
                        lastRanges(stage) :
                        Apportion.rowRanges(
                        Apportion.largestRemainder(shares, graph.layer(id).heightRows(), new int[devices]));
                    for (int d = 0; d < devices; d++)
                    {
                        rows[d][l] = ranges[d];
                    }
                }
                break;
            }
            case FEATURES:
            {
                for (int d = 0; d < devices; d++)
                {
                    for (int l = 0; l < layers; l++)
                    {
                        rows[d][l] = stage.layerRows(l, d);
                    }
                }
                break;
            }
            case FUSED:
            {
                final RowRange[][] seeds = fusedSeeds(graph, stage);
                for (int d = 0; d < devices; d++)
                {
                    final RowRange[] needed = RowRanges.backward(graph, stage.firstLayer(), seeds[d]);
                    for (int l = 0; l < layers; l++)
                    {
                        rows[d][l] = needed[stage.firstLayer() + l];
                    }
                }
                break;
            }
            default:
                throw new IllegalStateException("unknown mode " + stage.mode());
        }
        return rows;
    }

    /**
     * @return {@code seeds[device][layer - stage.firstLayer()]}: the stage's rows of its last layer, the shares'
     * apportioning of every layer wanted outside the block, empty elsewhere.
     */
    private static RowRange[][] fusedSeeds(final LayerGraph graph, final Stage stage)
    {
        final int devices = stage.deviceCount();
        final int layers = stage.layerCount();
        final RowRange[][] seeds = new RowRange[devices][layers];
        final double[] shares = new double[devices];
        for (int d = 0; d < devices; d++)
        {
            shares[d] = stage.deviceRows(d).rows();
            java.util.Arrays.fill(seeds[d], RowRange.EMPTY);
            seeds[d][layers - 1] = stage.deviceRows(d);
        }
        for (int id = stage.firstLayer(); id < stage.lastLayer(); id++)
        {
            if (graph.layer(id).isSource() || !wantedOutside(graph, stage, id))
            {
                continue;
            }
            final RowRange[] ranges = Apportion.rowRanges(
                Apportion.largestRemainder(shares, graph.layer(id).heightRows(), new int[devices]));
            for (int d = 0; d < devices; d++)
            {
                seeds[d][id - stage.firstLayer()] = ranges[d];
            }
        }
        return seeds;
    }

    /** @return true if layer {@code id} is a model output, no layer reads it, or a layer after the stage does. */
    private static boolean wantedOutside(final LayerGraph graph, final Stage stage, final int id)
    {
        final int[] readers = graph.readers(id); // ascending
        return graph.isOutput(id) || readers.length == 0 || readers[readers.length - 1] > stage.lastLayer();
    }

    private static RowRange[] lastRanges(final Stage stage)
    {
        final RowRange[] ranges = new RowRange[stage.deviceCount()];
        for (int d = 0; d < ranges.length; d++)
        {
            ranges[d] = stage.deviceRows(d);
        }
        return ranges;
    }
}
