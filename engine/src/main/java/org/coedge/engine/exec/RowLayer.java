package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;
import org.coedge.planner.RowRange;

/**
 * A one-input kernel that computes output rows from input rows (pooling, LRN, pointwise, softmax, resize, pad). A
 * window kernel (one with a halo function) runs a batch above 1 image by image ({@link ImageBatch}); a pointwise one
 * runs over the stacked images at once.
 */
final class RowLayer extends Layer
{
    /** The kernel's forward method. */
    @FunctionalInterface
    interface RowKernel
    {
        void forward(MapView in, MapView out, int h0, int h1);
    }

    /** The kernel's halo function: input rows needed for output rows {@code [o0, o1)}, clipped to the input. */
    @FunctionalInterface
    interface RowSpan
    {
        RowRange inputRows(int o0, int o1);
    }

    private final RowKernel kernel;
    private final RowSpan span;
    private final long flops;
    private final ImageBatch.ImageRows perImage = this::runImage;
    private MapView in;
    private MapView out;
    private MapView[] inImages;
    private MapView[] outImages;

    /**
     * @param span the kernel's halo function in one image's rows, or null for a pointwise kernel (output rows need
     *             the same input rows).
     */
    RowLayer(final String name, final String opType, final RowKernel kernel, final RowSpan span, final long flops,
        final Value input, final Value output)
    {
        super(name, opType, List.of(input), output);
        this.kernel = kernel;
        this.span = span;
        this.flops = flops;
    }

    @Override
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        if (span == null || out.isEmpty())
        {
            return super.inputRows(inputIndex, out);
        }
        return ImageBatch.inputRows(out, output.imageShape().height(), inputs.get(0).imageShape().height(),
            span::inputRows);
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        in = inputs.get(0).view(arena);
        out = output.view(arena);
        inImages = inputs.get(0).imageViews(arena);
        outImages = output.imageViews(arena);
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        if (span == null || output.images() == 1)
        {
            kernel.forward(in, out, from, to);
        }
        else
        {
            ImageBatch.run(from, to, output.imageShape().height(), perImage, scratch, scratchOffset);
        }
    }

    private void runImage(final int image, final int o0, final int o1, final FloatRegion scratch,
        final int scratchOffset)
    {
        kernel.forward(inImages[image], outImages[image], o0, o1);
    }

    @Override
    public long flops()
    {
        return flops;
    }
}
