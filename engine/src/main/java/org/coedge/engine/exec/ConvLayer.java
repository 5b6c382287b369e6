package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.ConvKernel;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;
import org.coedge.planner.RowRange;

/** Conv or ConvTranspose (with bias and fused activation) over output rows. */
final class ConvLayer extends Layer
{
    private final ConvKernel kernel;
    private MapView in;
    private MapView out;

    ConvLayer(final String name, final String opType, final ConvKernel kernel, final Value input, final Value output)
    {
        super(name, opType, List.of(input), output);
        this.kernel = kernel;
    }

    ConvKernel kernel()
    {
        return kernel;
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
        kernel.forward(in, out, from, to, scratch, scratchOffset);
    }

    @Override
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        if (out.isEmpty())
        {
            return RowRange.EMPTY;
        }
        final int height = inputs.get(0).shape().height();
        return RowRange.of(kernel.firstInputRow(out.start(), out.end(), height),
            kernel.endInputRow(out.start(), out.end(), height));
    }

    @Override
    public int scratchFloats()
    {
        return kernel.scratchFloats(inputs.get(0).shape().width(), output.shape().height());
    }

    @Override
    public long flops()
    {
        return flops(kernel.params(), inputs.get(0).shape(), output.shape());
    }

    /** @return floating-point operations of a full conv with {@code p} from {@code in} to {@code out}. */
    static long flops(final ConvParams p, final MapShape in, final MapShape out)
    {
        final long taps = (long)p.kernelH() * p.kernelW();
        if (p.transposed())
        {
            return 2L * in.height() * in.width() * p.inChannels() * taps * p.outChannelsPerGroup();
        }
        final MapShape s = out;
        return 2L * s.height() * s.width() * p.outChannels() * taps * p.inChannelsPerGroup();
    }
}
