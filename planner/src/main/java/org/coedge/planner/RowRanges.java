package org.coedge.planner;

/**
 * Halo arithmetic over a {@link LayerGraph}: chains row ranges backwards through a block of layers. At a layer
 * read by several layers of the block the needed range is the hull of what the readers need (the widest path wins).
 * <p>
 * Pure functions, called by {@link StageRows}, {@link PlanCost} and the engine's plan compiler; any thread.
 */
public final class RowRanges
{
    private RowRanges()
    {
    }

    /**
     * Rows needed per layer to produce rows {@code out} of layer {@code lastLayer} from a block
     * {@code [firstLayer, lastLayer]}.
     *
     * @return a range per layer id of the whole graph: for layers inside the block the rows they must produce; for
     * layers outside the block that feed it (block inputs) the rows needed from them; empty for all others.
     */
    public static RowRange[] backward(
        final LayerGraph graph, final int firstLayer, final int lastLayer, final RowRange out)
    {
        if (firstLayer < 0 || lastLayer < firstLayer || lastLayer >= graph.layerCount())
        {
            throw new IllegalArgumentException("invalid block [" + firstLayer + ", " + lastLayer + "] of " +
                graph.layerCount() + " layers");
        }
        if (out.end() > graph.layer(lastLayer).heightRows())
        {
            throw new IllegalArgumentException("rows " + out + " beyond height " +
                graph.layer(lastLayer).heightRows() + " of layer " + lastLayer);
        }
        final RowRange[] seeds = new RowRange[lastLayer - firstLayer + 1];
        java.util.Arrays.fill(seeds, RowRange.EMPTY);
        seeds[seeds.length - 1] = out;
        return backward(graph, firstLayer, seeds);
    }

    /**
     * Rows needed per layer to produce, for every layer {@code firstLayer + i} of a block, at least rows
     * {@code seeds[i]} (empty where the block's own readers decide): a layer must produce the hull of its seed and of
     * what its readers inside the block need.
     *
     * @return a range per layer id of the whole graph, as {@link #backward(LayerGraph, int, int, RowRange)}.
     */
    public static RowRange[] backward(final LayerGraph graph, final int firstLayer, final RowRange[] seeds)
    {
        final int lastLayer = firstLayer + seeds.length - 1;
        if (firstLayer < 0 || seeds.length == 0 || lastLayer >= graph.layerCount())
        {
            throw new IllegalArgumentException("invalid block of " + seeds.length + " layers from " + firstLayer +
                " in " + graph.layerCount() + " layers");
        }
        final RowRange[] needed = new RowRange[graph.layerCount()];
        java.util.Arrays.fill(needed, RowRange.EMPTY);
        for (int i = 0; i < seeds.length; i++)
        {
            if (seeds[i].end() > graph.layer(firstLayer + i).heightRows())
            {
                throw new IllegalArgumentException("rows " + seeds[i] + " beyond height " +
                    graph.layer(firstLayer + i).heightRows() + " of layer " + (firstLayer + i));
            }
            needed[firstLayer + i] = seeds[i];
        }
        for (int id = lastLayer; id >= firstLayer; id--)
        {
            final Layer layer = graph.layer(id);
            final RowRange rows = needed[id];
            for (int j = 0; j < layer.inputCount(); j++)
            {
                final int in = layer.inputId(j);
                needed[in] = needed[in].hull(layer.rowMap(j).inputRows(rows));
            }
        }
        return needed;
    }

    /**
     * Input rows of one layer's input {@code inputIndex} needed for output rows {@code out}.
     */
    public static RowRange inputRows(final Layer layer, final int inputIndex, final RowRange out)
    {
        return layer.rowMap(inputIndex).inputRows(out);
    }
}
