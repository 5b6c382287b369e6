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
    private final long flops;

    IdleLayer(final String name, final String opType, final java.util.List<Value> inputs, final Value output,
        final long flops)
    {
        super(name, opType, inputs, output);
        this.flops = flops;
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
        throw new UnsupportedOperationException("layer '" + name() + "' is idle on this device; take halo " +
            "functions from the unsplit model");
    }

    @Override
    public long flops()
    {
        return flops;
    }
}
