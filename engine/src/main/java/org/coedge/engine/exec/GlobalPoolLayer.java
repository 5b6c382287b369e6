package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.GlobalPooling;
import org.coedge.kernels.MapView;

/**
 * GlobalAveragePool / GlobalMaxPool: one output row per image of the batch ({@link ImageBatch}), each image computed
 * whole by one thread.
 */
final class GlobalPoolLayer extends Layer
{
    private final GlobalPooling kernel;
    private MapView[] in;
    private MapView[] out;

    GlobalPoolLayer(final String name, final String opType, final GlobalPooling kernel, final Value input,
        final Value output)
    {
        super(name, opType, List.of(input), output);
        this.kernel = kernel;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        in = inputs.get(0).imageViews(arena);
        out = output.imageViews(arena);
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        for (int b = from; b < to; b++)
        {
            kernel.forward(in[b], out[b]);
        }
    }

    @Override
    public boolean isGlobal()
    {
        return true;
    }

    @Override
    public long flops()
    {
        return inputs.get(0).shape().size();
    }
}
