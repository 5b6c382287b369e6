package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.Concat;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;

/** Concat along channels of N maps with equal height and width. */
final class ConcatLayer extends Layer
{
    private final Concat kernel;
    private MapView[] in;
    private MapView out;

    ConcatLayer(final String name, final Concat kernel, final List<Value> inputs, final Value output)
    {
        super(name, "Concat", inputs, output);
        this.kernel = kernel;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        in = new MapView[inputs.size()];
        for (int i = 0; i < in.length; i++)
        {
            in[i] = inputs.get(i).view(arena);
        }
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
        return 0;
    }
}
