package org.coedge.engine.cluster;

import java.util.ArrayList;
import java.util.List;

import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.RowRange;
import org.coedge.planner.Stage;
import org.coedge.transport.sbe.PlanMessageDecoder;

/**
 * Converts a {@link Plan} to the plain arrays the transport's plan message carries, and a received plan message back
 * into a {@link Plan}. Cold path.
 */
final class PlanCodec
{
    private PlanCodec()
    {
    }

    /** @return per stage {first layer, last layer, mode ordinal}. */
    static int[][] stageLayers(final Plan plan)
    {
        final int[][] out = new int[plan.stages().size()][];
        for (int s = 0; s < out.length; s++)
        {
            final Stage st = plan.stages().get(s);
            out[s] = new int[]{st.firstLayer(), st.lastLayer(), st.mode().ordinal()};
        }
        return out;
    }

    /**
     * @return per stage, per device {first row, row count}; for a PER_LAYER stage that carries every layer's split,
     * and for a FEATURES stage (whose ranges are output features), per layer then per device.
     */
    static int[][] stageRows(final Plan plan)
    {
        final int[][] out = new int[plan.stages().size()][];
        for (int s = 0; s < out.length; s++)
        {
            final Stage st = plan.stages().get(s);
            final int devices = st.deviceCount();
            final int layers = st.hasLayerRows() ? st.layerCount() : 1;
            out[s] = new int[2 * devices * layers];
            for (int l = 0; l < layers; l++)
            {
                for (int d = 0; d < devices; d++)
                {
                    final RowRange r = st.hasLayerRows() ? st.layerRows(l, d) : st.deviceRows(d);
                    out[s][2 * (l * devices + d)] = r.start();
                    out[s][2 * (l * devices + d) + 1] = r.rows();
                }
            }
        }
        return out;
    }

    /** The oldest plan message version this node reads: version 4 added the FEATURES stage mode. */
    static final int MIN_PLAN_VERSION = 4;

    /**
     * @throws IllegalArgumentException if a plan message of wire schema version {@code actingVersion} is older than
     *                                  {@link #MIN_PLAN_VERSION}: a node of an older build sent it.
     */
    static void checkVersion(final int actingVersion)
    {
        if (actingVersion < MIN_PLAN_VERSION)
        {
            throw new IllegalArgumentException("plan message of wire schema version " + actingVersion +
                "; this node reads version " + MIN_PLAN_VERSION + " and later (version 4 added feature-split " +
                "stages): run the same coedge build on every node");
        }
    }

    /**
     * Reads the stages of a plan message whose device group has already been read.
     *
     * @throws IllegalArgumentException if a stage names an unknown mode or a row count below zero.
     */
    static Plan readStages(final long epoch, final int devices, final PlanMessageDecoder.StagesDecoder stages)
    {
        final List<Stage> out = new ArrayList<>();
        final Mode[] modes = Mode.values();
        for (final PlanMessageDecoder.StagesDecoder st : stages)
        {
            final int mode = st.mode();
            if (mode >= modes.length)
            {
                throw new IllegalArgumentException("plan stage with unknown mode " + mode);
            }
            final int first = st.firstLayer();
            final int last = st.lastLayer();
            final List<RowRange> rows = new ArrayList<>();
            for (final PlanMessageDecoder.StagesDecoder.RowsDecoder r : st.rows())
            {
                if (r.rowCount() < 0 || r.firstRow() < 0)
                {
                    throw new IllegalArgumentException("plan stage with negative rows");
                }
                rows.add(r.rowCount() == 0 ? RowRange.EMPTY : RowRange.of(r.firstRow(), r.firstRow() + r.rowCount()));
            }
            if (modes[mode] == Mode.FEATURES && last >= first && rows.size() == (last - first + 1) * devices)
            {
                out.add(Stage.features(first, byLayer(rows, last - first + 1, devices)));
            }
            else if (rows.size() == devices)
            {
                out.add(new Stage(first, last, modes[mode], rows.toArray(new RowRange[0])));
            }
            else if (modes[mode] == Mode.PER_LAYER && last >= first && rows.size() == (last - first + 1) * devices)
            {
                out.add(Stage.perLayer(first, byLayer(rows, last - first + 1, devices)));
            }
            else
            {
                throw new IllegalArgumentException("plan stage [" + first + ", " + last + "] has " + rows.size() +
                    " row ranges for " + devices + " devices");
            }
        }
        return new Plan(epoch, out);
    }

    private static RowRange[][] byLayer(final List<RowRange> rows, final int layers, final int devices)
    {
        final RowRange[][] out = new RowRange[layers][devices];
        for (int i = 0; i < rows.size(); i++)
        {
            out[i / devices][i % devices] = rows.get(i);
        }
        return out;
    }

    /**
     * Reads the layers a plan message says the coordinator gathers (its stages already read).
     *
     * @return them, or null when the message names none (the model's outputs).
     * @throws IllegalArgumentException if one is outside {@code [0, layers)}.
     */
    static int[] readOutputs(final PlanMessageDecoder.OutputsDecoder outputs, final int layers)
    {
        if (outputs.count() == 0)
        {
            return null;
        }
        final int[] out = new int[outputs.count()];
        int i = 0;
        for (final PlanMessageDecoder.OutputsDecoder o : outputs)
        {
            if (o.layer() < 0 || o.layer() >= layers)
            {
                throw new IllegalArgumentException("plan gathers layer " + o.layer() + ", outside [0, " + layers + ")");
            }
            out[i++] = o.layer();
        }
        return out;
    }
}
