package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.ConvKernel;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;
import org.coedge.planner.RowRange;

/**
 * Conv or ConvTranspose (with bias and fused activation) over output rows; a Conv may also add a residual map (an
 * {@code Add} the lowering absorbed, its second input), read row for row. A batch above 1 runs image by image
 * ({@link ImageBatch}), sharing the kernel and its packed weights.
 */
final class ConvLayer extends Layer
{
    /**
     * Name of the system property that keeps every convolution on the row split between an executor's threads
     * ({@code -Dcoedge.channelSplit=false}), for measuring what the channel split saves; results are the same either
     * way within float rounding.
     */
    static final String CHANNEL_SPLIT_PROPERTY = "coedge.channelSplit";

    private static final boolean CHANNEL_SPLIT =
        !"false".equalsIgnoreCase(System.getProperty(CHANNEL_SPLIT_PROPERTY, "true").trim());

    private final ConvKernel kernel;
    private final boolean hasResidual;
    private final ImageBatch.ImageRows perImage = this::runImage;
    private final ImageBatch.ImageSpan span = this::imageInputRows;
    private MapView[] in;
    private MapView[] residual;
    private MapView[] out;

    /**
     * @param residualOrNull the map added before the activation, of the output's shape, or {@code null}.
     * @throws IllegalArgumentException if a residual is given and the kernel cannot add one.
     */
    ConvLayer(final String name, final String opType, final ConvKernel kernel, final Value input,
        final Value residualOrNull, final Value output)
    {
        super(name, opType, residualOrNull == null ? List.of(input) : List.of(input, residualOrNull), output);
        if (residualOrNull != null && !kernel.addsResidual())
        {
            throw new IllegalArgumentException(kernel.getClass().getSimpleName() + " cannot add a residual");
        }
        this.kernel = kernel;
        this.hasResidual = residualOrNull != null;
    }

    ConvKernel kernel()
    {
        return kernel;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        in = inputs.get(0).imageViews(arena);
        residual = hasResidual ? inputs.get(1).imageViews(arena) : null;
        out = output.imageViews(arena);
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        ImageBatch.run(from, to, output.imageShape().height(), perImage, scratch, scratchOffset);
    }

    /**
     * Splits the layer's output channels among the threads where its kernel prefers that
     * ({@link ConvKernel#prefersChannelSplit}: few pixels, many weights), else its rows.
     */
    @Override
    public void runPart(final int part, final int parts, final FloatRegion scratch, final int scratchOffset)
    {
        final int height = output.imageShape().height();
        // decided by every part alike, from the shapes alone (no state the threads share)
        if (!CHANNEL_SPLIT || !kernel.prefersChannelSplit(inputs.get(0).imageShape().width(), height, parts))
        {
            super.runPart(part, parts, scratch, scratchOffset);
            return;
        }
        final int channels = output.imageShape().channels();
        final int c0 = ConvKernel.windowStart(channels, part, parts);
        final int c1 = ConvKernel.windowStart(channels, part + 1, parts);
        for (int image = 0; image < out.length; image++)
        {
            kernel.forwardChannels(in[image], hasResidual ? residual[image] : null, out[image], 0, height, c0, c1,
                scratch, scratchOffset);
        }
    }

    private void runImage(final int image, final int o0, final int o1, final FloatRegion scratch,
        final int scratchOffset)
    {
        kernel.forward(in[image], hasResidual ? residual[image] : null, out[image], o0, o1, scratch, scratchOffset);
    }

    @Override
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        if (inputIndex == 1)
        {
            return super.inputRows(inputIndex, out);
        }
        return ImageBatch.inputRows(out, output.imageShape().height(), inputs.get(0).imageShape().height(), span);
    }

    private RowRange imageInputRows(final int o0, final int o1)
    {
        final int height = inputs.get(0).imageShape().height();
        return RowRange.of(kernel.firstInputRow(o0, o1, height), kernel.endInputRow(o0, o1, height));
    }

    @Override
    public int scratchFloats()
    {
        return kernel.scratchFloats(inputs.get(0).shape().width(), output.imageShape().height());
    }

    @Override
    public long flops()
    {
        return output.images() * flops(kernel.params(), inputs.get(0).imageShape(), output.imageShape());
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
