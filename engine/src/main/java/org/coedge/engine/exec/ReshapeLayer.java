package org.coedge.engine.exec;

import java.nio.FloatBuffer;
import java.util.List;

import org.coedge.kernels.FloatRegion;

/**
 * An ONNX Reshape whose NCHW element order differs from the NHWC memory order: each output element is fetched from
 * the input element with the same NCHW flat index, images of a batch ({@link ImageBatch}) outermost on both sides.
 * Only used where an alias cannot serve (reshapes between maps with both spatial and channel extent), so it favours
 * clarity over speed. Splits by output rows.
 */
final class ReshapeLayer extends Layer
{
    /** One image of the input's memory layout. */
    private final MapShape in;
    private final int inImages;
    private FloatBuffer floats;
    private int inOffset;
    private int outOffset;

    /**
     * @param sourceLayout the NHWC map whose memory the input really holds (differs from the input value's shape when
     *                     the input is itself a flatten alias).
     */
    ReshapeLayer(final String name, final Value input, final MapShape sourceLayout, final Value output)
    {
        super(name, "Reshape", List.of(input), output);
        if ((long)sourceLayout.size() * input.images() != output.shape().size())
        {
            throw new IllegalArgumentException("reshape from " + input.images() + " x " + sourceLayout + " to " +
                output.shape() + " changes the element count");
        }
        this.in = sourceLayout;
        this.inImages = input.images();
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        floats = arena.floats();
        inOffset = inputs.get(0).offset();
        outOffset = output.offset();
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        final MapShape out = output.imageShape();
        final int oh = out.height();
        final int ow = out.width();
        final int oc = out.channels();
        final int ih = in.height();
        final int iw = in.width();
        final int ic = in.channels();
        final int outImage = out.size();
        final int inImage = in.size();
        for (int ty = from; ty < to; ty++)
        {
            final int b = ty / oh;
            final int y = ty - b * oh;
            for (int x = 0; x < ow; x++)
            {
                for (int c = 0; c < oc; c++)
                {
                    final int flat = b * outImage + (c * oh + y) * ow + x;
                    final int sb = flat / inImage;
                    final int inFlat = flat - sb * inImage;
                    final int sc = inFlat / (ih * iw);
                    final int rest = inFlat - sc * ih * iw;
                    final int sy = rest / iw;
                    final int sx = rest - sy * iw;
                    floats.put(outOffset + (ty * ow + x) * oc + c,
                        floats.get(inOffset + sb * inImage + (sy * iw + sx) * ic + sc));
                }
            }
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
        return 0;
    }
}
