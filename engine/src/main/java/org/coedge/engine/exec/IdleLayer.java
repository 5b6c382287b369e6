package org.coedge.engine.exec;

import org.coedge.kernels.FloatRegion;
import org.coedge.planner.RowRange;

/**
 * Stands in for a layer that this device of a split never computes: it keeps the layer's name, values and FLOPs, so
 * the device's arena and step indices match every other device's, but no kernel and no weights. Created by the
 * lowering for a device prepared with {@link Lowering.RowWindows#runsLayer} false.
 */
final class IdleLayer extends Layer
{
    /** The halo function of the layer stood in for, so a device can plan from a weightless copy. */
    interface RowFunction
    {
        RowRange inputRows(int inputIndex, RowRange out);
    }

    private final long flops;
    private final RowFunction rows;
    private final boolean global;

    IdleLayer(final String name, final String opType, final java.util.List<Value> inputs, final Value output,
        final long flops, final RowFunction rows, final boolean global)
    {
        super(name, opType, inputs, output);
        this.flops = flops;
        this.rows = rows;
        this.global = global;
    }

    /** Stands in for {@code built}, keeping its halo function. */
    static IdleLayer of(final Layer built)
    {
        final IdleLayer idle = new IdleLayer(built.name(), built.opType(), built.inputs(), built.output(),
            built.flops(), built::inputRows, built.isGlobal());
        idle.kind(built.kind());
        return idle;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
    }

    /** Never called by a consistent step program; refuses rather than computing garbage. */
    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        throw new IllegalStateException("layer '" + name() + "' is not prepared on this device (no weights)");
    }

    @Override
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        return rows.inputRows(inputIndex, out);
    }

    @Override
    public boolean isGlobal()
    {
        return global;
    }

    @Override
    public long flops()
    {
        return flops;
    }
}
