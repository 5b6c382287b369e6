package org.coedge.engine.exec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.ModelException;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.RowMap;
import org.coedge.planner.RowRange;

/**
 * Describes a {@link PreparedModel} to the planner: one source per model input, one planner layer per engine layer,
 * with each input's row map tabulated from the layer's own halo function ({@link Layer#inputRows}), which in turn is
 * the kernel's. Cold path, on the planning thread.
 */
public final class PlanGraphs
{
    private PlanGraphs()
    {
    }

    /**
     * @return the planner's view of {@code model}; planner layer {@code inputs + i} is engine layer {@code i}.
     * @throws ModelException if a layer reads rows of a value whose height differs from its producer's (a reshape
     *                        between maps), which the row planner cannot split.
     */
    public static LayerGraph of(final PreparedModel model)
    {
        final LayerGraph.Builder builder = LayerGraph.builder();
        final Map<Value.Storage, Integer> producer = new HashMap<>();
        final Map<Integer, Integer> heights = new HashMap<>();
        for (final Value in : model.inputs())
        {
            final MapShape s = in.shape();
            final int id = builder.addSource(in.name(), s.height(), s.width(), s.channels());
            producer.put(in.storage(), id);
            heights.put(id, s.height());
        }
        for (final Layer layer : model.layers())
        {
            final List<Value> ins = layer.inputs();
            final int[] ids = new int[ins.size()];
            final RowMap[] maps = new RowMap[ins.size()];
            final MapShape out = layer.output().shape();
            for (int j = 0; j < ids.length; j++)
            {
                final Integer id = producer.get(ins.get(j).storage());
                if (id == null)
                {
                    throw new ModelException(layer + ": input '" + ins.get(j).name() + "' has no producer");
                }
                ids[j] = id;
                final int inHeight = heights.get(id);
                if (layer.isGlobal())
                {
                    maps[j] = RowMap.global(inHeight, out.height());
                    continue;
                }
                if (inHeight != ins.get(j).shape().height())
                {
                    throw new ModelException(layer + ": reads '" + ins.get(j).name() + "' as " +
                        ins.get(j).shape() + " rows but its producer has " + inHeight + " rows");
                }
                final int[] first = new int[out.height()];
                final int[] end = new int[out.height()];
                for (int o = 0; o < first.length; o++)
                {
                    final RowRange rows = layer.inputRows(j, RowRange.of(o, o + 1));
                    first[o] = rows.start();
                    end[o] = rows.end();
                }
                maps[j] = RowMap.table(inHeight, first, end);
            }
            final int id = builder.addLayer(layer.name(), ids, maps, out.height(), out.width(), out.channels(),
                layer.flops() / out.height(), (long)out.rowStride() * Float.BYTES);
            builder.describe(id, layer.kind(), layer.weightBytes());
            producer.putIfAbsent(layer.output().storage(), id);
            heights.put(id, out.height());
        }
        for (final Value out : model.outputs())
        {
            builder.markOutput(SplitExecutor.producerOf(model, out));
        }
        return builder.build();
    }
}
