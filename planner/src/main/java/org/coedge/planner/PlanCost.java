package org.coedge.planner;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Counts what a {@link Plan} costs over a {@link LayerGraph}, per stage and device: rows computed per layer (from
 * {@link StageRows}), FLOPs, halo rows, bytes and messages received, and redundant FLOPs (rows computed by more than
 * one device, counted beyond the first).
 * <p>
 * A device needs, of each layer a stage reads, the hull of the rows its readers in the stage need. Rows it needs but
 * did not compute itself (in this stage or the earlier stage that computed that layer) are halo rows, each taken
 * from the lowest-index device that computed it; one message per (receiving device, layer, sending device). Rows of
 * a source layer come from the coordinator's scatter and are not counted as halo.
 * <p>
 * Built by the planner's search and by tests; cold path; immutable once computed, so safe on any thread.
 */
public final class PlanCost
{
    private final List<StageCost> stages;

    private PlanCost(final List<StageCost> stages)
    {
        this.stages = Collections.unmodifiableList(stages);
    }

    /**
     * Counts the cost of {@code plan}, which is first validated against {@code graph}.
     */
    public static PlanCost of(final LayerGraph graph, final Plan plan)
    {
        plan.validate(graph);
        final int devices = plan.deviceCount();
        final RowRange[][] held = new RowRange[devices][graph.layerCount()];
        final List<StageCost> costs = new ArrayList<>();
        for (final Stage stage : plan.stages())
        {
            final RowRange[][] computed = StageRows.computed(graph, stage);
            if (stage.mode() == Mode.FEATURES)
            {
                costs.add(featureStageCost(graph, stage, computed, held));
                continue;
            }
            for (int d = 0; d < devices; d++)
            {
                for (int l = 0; l < stage.layerCount(); l++)
                {
                    held[d][stage.firstLayer() + l] = computed[d][l];
                }
            }
            costs.add(stageCost(graph, stage, computed, held));
        }
        return new PlanCost(costs);
    }

    public List<StageCost> stages()
    {
        return stages;
    }

    public StageCost stage(final int index)
    {
        return stages.get(index);
    }

    public long totalRedundantFlops()
    {
        long sum = 0;
        for (final StageCost s : stages)
        {
            sum += s.redundantFlops();
        }
        return sum;
    }

    public long totalHaloBytes()
    {
        long sum = 0;
        for (final StageCost s : stages)
        {
            for (int d = 0; d < s.deviceCount(); d++)
            {
                sum += s.haloBytes(d);
            }
        }
        return sum;
    }

    public long totalMessages()
    {
        long sum = 0;
        for (final StageCost s : stages)
        {
            for (int d = 0; d < s.deviceCount(); d++)
            {
                sum += s.messages(d);
            }
        }
        return sum;
    }

    private static StageCost stageCost(
        final LayerGraph graph, final Stage stage, final RowRange[][] computed, final RowRange[][] held)
    {
        final int devices = stage.deviceCount();
        final long[] flops = new long[devices];
        final long[] haloRows = new long[devices];
        final long[] haloBytes = new long[devices];
        final long[] messages = new long[devices];
        long redundantFlops = 0;

        for (int l = 0; l < stage.layerCount(); l++)
        {
            final Layer layer = graph.layer(stage.firstLayer() + l);
            final int[] timesComputed = new int[layer.heightRows()];
            for (int d = 0; d < devices; d++)
            {
                final RowRange r = computed[d][l];
                flops[d] += r.rows() * layer.flopsPerRow();
                for (int row = r.start(); row < r.end(); row++)
                {
                    timesComputed[row]++;
                }
            }
            for (final int times : timesComputed)
            {
                redundantFlops += Math.max(0, times - 1) * layer.flopsPerRow();
            }
        }

        for (int d = 0; d < devices; d++)
        {
            final RowRange[] needed = new RowRange[graph.layerCount()];
            java.util.Arrays.fill(needed, RowRange.EMPTY);
            for (int l = 0; l < stage.layerCount(); l++)
            {
                final Layer layer = graph.layer(stage.firstLayer() + l);
                for (int j = 0; j < layer.inputCount(); j++)
                {
                    final int in = layer.inputId(j);
                    needed[in] = needed[in].hull(layer.rowMap(j).inputRows(computed[d][l]));
                }
            }
            for (int in = 0; in < needed.length; in++)
            {
                final RowRange need = needed[in];
                if (need.isEmpty() || graph.layer(in).isSource())
                {
                    continue;
                }
                final RowRange own = held[d][in];
                final boolean[] sender = new boolean[devices];
                for (int row = need.start(); row < need.end(); row++)
                {
                    if (own != null && own.contains(row))
                    {
                        continue;
                    }
                    haloRows[d]++;
                    haloBytes[d] += graph.layer(in).bytesPerRow();
                    sender[holder(held, in, row, stage)] = true;
                }
                for (final boolean s : sender)
                {
                    messages[d] += s ? 1 : 0;
                }
            }
        }
        return new StageCost(computed, flops, haloRows, haloBytes, messages, redundantFlops);
    }

    /**
     * A FEATURES stage: each device's FLOPs are its slices' share of each layer's; what it reads from before the
     * stage (the whole input vector or map) counts as halo like any row it lacks, and the gathers of slices inside
     * the stage are not counted (they are no halo; {@link StepCompiler} and {@link PlanSimulator} count every byte).
     * Afterwards each device with a slice counts as holding its vector's one row.
     */
    private static StageCost featureStageCost(
        final LayerGraph graph, final Stage stage, final RowRange[][] computed, final RowRange[][] held)
    {
        final int devices = stage.deviceCount();
        final long[] flops = new long[devices];
        final long[] haloRows = new long[devices];
        final long[] haloBytes = new long[devices];
        final long[] messages = new long[devices];
        for (int d = 0; d < devices; d++)
        {
            for (int l = 0; l < stage.layerCount(); l++)
            {
                final Layer layer = graph.layer(stage.firstLayer() + l);
                flops[d] += layer.flopsPerRow() * layer.heightRows() * computed[d][l].rows() /
                    Math.max(1, layer.channels());
            }
            final Layer first = graph.layer(stage.firstLayer());
            final int in = first.inputId(0);
            if (!computed[d][0].isEmpty() && !graph.layer(in).isSource())
            {
                final RowRange own = held[d][in];
                final boolean[] sender = new boolean[devices];
                for (int row = 0; row < graph.layer(in).heightRows(); row++)
                {
                    if (own == null || !own.contains(row))
                    {
                        haloRows[d]++;
                        haloBytes[d] += graph.layer(in).bytesPerRow();
                        sender[holder(held, in, row, stage)] = true;
                    }
                }
                for (final boolean s : sender)
                {
                    messages[d] += s ? 1 : 0;
                }
            }
        }
        for (int d = 0; d < devices; d++)
        {
            for (int l = 0; l < stage.layerCount(); l++)
            {
                held[d][stage.firstLayer() + l] = computed[d][l].isEmpty() ? RowRange.EMPTY : RowRange.of(0, 1);
            }
        }
        return new StageCost(computed, flops, haloRows, haloBytes, messages, 0);
    }

    private static int holder(final RowRange[][] held, final int layer, final int row, final Stage stage)
    {
        for (int e = 0; e < held.length; e++)
        {
            if (held[e][layer] != null && held[e][layer].contains(row))
            {
                return e;
            }
        }
        throw new IllegalArgumentException("stage [" + stage.firstLayer() + ", " + stage.lastLayer() +
            "] needs row " + row + " of layer " + layer + " which no device computes");
    }

    /**
     * Costs of one stage, per device.
     */
    public static final class StageCost
    {
        private final RowRange[][] computedRows;
        private final long[] flops;
        private final long[] haloRows;
        private final long[] haloBytes;
        private final long[] messages;
        private final long redundantFlops;

        StageCost(
            final RowRange[][] computedRows,
            final long[] flops,
            final long[] haloRows,
            final long[] haloBytes,
            final long[] messages,
            final long redundantFlops)
        {
            this.computedRows = computedRows;
            this.flops = flops;
            this.haloRows = haloRows;
            this.haloBytes = haloBytes;
            this.messages = messages;
            this.redundantFlops = redundantFlops;
        }

        public int deviceCount()
        {
            return flops.length;
        }

        /**
         * @return rows of layer {@code stage.firstLayer() + layerOffset} that {@code device} computes.
         */
        public RowRange computedRows(final int device, final int layerOffset)
        {
            return computedRows[device][layerOffset];
        }

        public long flops(final int device)
        {
            return flops[device];
        }

        public long haloRows(final int device)
        {
            return haloRows[device];
        }

        public long haloBytes(final int device)
        {
            return haloBytes[device];
        }

        public long messages(final int device)
        {
            return messages[device];
        }

        public long redundantFlops()
        {
            return redundantFlops;
        }
    }
}
