package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;

/**
 * A one-input kernel that computes output rows from input rows (pooling, LRN, pointwise, softmax, resize, pad).
 */
final class RowLayer extends Layer
{
    /** The kernel's forward method. */
    @FunctionalInterface
    interface RowKernel
    {
        void forward(MapView in, MapView out, int h0, int h1);
    }

    private final RowKernel kernel;
    private final long flops;
    private MapView in;
    private MapView out;

    RowLayer(final String name, final String opType, final RowKernel kernel, final long flops, final Value input,
        final Value output)
    {
        super(name, opType, List.of(input), output);
        this.kernel = kernel;
        this.flops = flops;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        in = inputs.get(0).view(arena);
        out = output.view(arena);
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        kernel.forward(in, out, from, to);
    }

    @Override
    public long flops()
    {
        return flops;
    }
}
