package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.FullyConnected;

/** Gemm / MatMul on a batch-1 vector, split by output features. */
final class FullyConnectedLayer extends Layer
{
    private final FullyConnected kernel;
    private FloatRegion arena;
    private int inOffset;
    private int outOffset;

    FullyConnectedLayer(final String name, final String opType, final FullyConnected kernel, final Value input,
        final Value output)
    {
        super(name, opType, List.of(input), output);
        this.kernel = kernel;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        this.arena = arena;
        inOffset = inputs.get(0).offset();
        outOffset = output.offset();
    }

    @Override
    public int units()
    {
        return kernel.outputFeatures();
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        kernel.forward(arena, inOffset, arena, outOffset, 1, from, to);
    }

    @Override
    public boolean isGlobal()
    {
        return true;
    }

    @Override
    public long flops()
    {
        return 2L * kernel.inputFeatures() * kernel.outputFeatures();
    }
}
