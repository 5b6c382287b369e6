package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * {@link Conv2d}'s im2col matrices: for a chunk of output rows and one group, one row of K floats per output pixel,
 * ordered (kernel row, kernel column, channel of the group), zeros for taps in the padding. Layers with few input
 * channels per group (below {@link #STAGED_MAX_CHANNELS}) build their rows on heap first: their tap runs are a few
 * floats each, and a bulk copy between direct buffers costs about as much for 9 floats as for 900 (a 224x224x3
 * stride-2 first layer spent 0.65 of its 0.94 ms in im2col, measured); the others copy tap runs between the direct
 * buffers.
 * <p>
 * Immutable; the heap staging is per thread, so one instance serves all threads.
 */
final class Im2col
{
    /** Input channels per group from which im2col copies straight between the direct buffers. */
    static final int STAGED_MAX_CHANNELS = 16;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    private final ConvParams params;
    private final int cinPerGroup;
    private final int gemmK;
    private final boolean contiguousTaps;
    private final boolean onHeap;

    Im2col(final ConvParams params)
    {
        this.params = params;
        this.cinPerGroup = params.inChannelsPerGroup();
        this.gemmK = params.kernelH() * params.kernelW() * cinPerGroup;
        this.contiguousTaps = params.groups() == 1 && params.dilationW() == 1;
        this.onHeap = cinPerGroup < STAGED_MAX_CHANNELS;
    }

    /** Writes the im2col rows of output rows {@code [r0, r1)} for group {@code g} to {@code dst} from its index. */
    void write(final MapView in, final int outW, final int r0, final int r1, final int g, final FloatBuffer dst,
        final int dstOffset)
    {
        if (onHeap)
        {
            staged(in, outW, r0, r1, g, dst, dstOffset);
        }
        else
        {
            direct(in, outW, r0, r1, g, dst, dstOffset);
        }
    }

    /**
     * Writes the im2col rows of output rows {@code [r0, r1)} for group {@code g}: one row of K floats per output
     * pixel, ordered (kernel row, kernel column, channel of the group), zeros for taps in the padding.
     */
    private void direct(
        final MapView in, final int outW, final int r0, final int r1, final int g, final FloatBuffer dst,
        final int dstOffset)
    {
        final FloatBuffer src = in.region().floats();
        final int inH = in.height();
        final int inW = in.width();
        final int cin = params.inChannels();
        final int cinG = cinPerGroup;
        final int kernelH = params.kernelH();
        final int kernelW = params.kernelW();
        final int strideH = params.strideH();
        final int strideW = params.strideW();
        final int dilationH = params.dilationH();
        final int dilationW = params.dilationW();
        final int padTop = params.padTop();
        final int padLeft = params.padLeft();
        final int tapRunFloats = kernelW * cinG;
        final int groupOffset = g * cinG;
        int d = dstOffset;
        for (int oh = r0; oh < r1; oh++)
        {
            final int ihBase = oh * strideH - padTop;
            for (int ow = 0; ow < outW; ow++)
            {
                final int iwBase = ow * strideW - padLeft;
                for (int kh = 0; kh < kernelH; kh++)
                {
                    final int ih = ihBase + kh * dilationH;
                    if (ih < 0 || ih >= inH)
                    {
                        Conv2d.zero(dst, d, tapRunFloats);
                    }
                    else if (contiguousTaps)
                    {
                        // One group, unit dilation: the kernel row's taps are adjacent pixels, one contiguous run.
                        final int before = Math.min(kernelW, Math.max(0, -iwBase));
                        final int inside = Math.max(0, Math.min(kernelW, inW - iwBase) - before);
                        Conv2d.zero(dst, d, before * cin);
                        copy(src, in.rowOffset(ih) + (iwBase + before) * cin, dst, d + before * cin, inside * cin);
                        Conv2d.zero(dst, d + (before + inside) * cin, (kernelW - before - inside) * cin);
                    }
                    else
                    {
                        final int rowOffset = in.rowOffset(ih) + groupOffset;
                        for (int kw = 0; kw < kernelW; kw++)
                        {
                            final int iw = iwBase + kw * dilationW;
                            if (iw < 0 || iw >= inW)
                            {
                                Conv2d.zero(dst, d + kw * cinG, cinG);
                            }
                            else
                            {
                                copy(src, rowOffset + iw * cin, dst, d + kw * cinG, cinG);
                            }
                        }
                    }
                    d += tapRunFloats;
                }
            }
        }
    }

    /**
     * As {@link #direct}, for layers with few channels: per output row, stages the input rows its taps read into heap
     * arrays (zero columns for the padding, zero rows outside the map), assembles the row's im2col rows there with
     * small array copies, and writes them to scratch in one bulk copy.
     */
    private void staged(
        final MapView in, final int outW, final int r0, final int r1, final int g, final FloatBuffer dst,
        final int dstOffset)
    {
        final FloatBuffer src = in.region().floats();
        final int cin = params.inChannels();
        final int cinG = cinPerGroup;
        final int kernelH = params.kernelH();
        final int kernelW = params.kernelW();
        final int strideW = params.strideW();
        final int dilationW = params.dilationW();
        final int tapRunFloats = kernelW * cinG;
        final int stagedColumns = (outW - 1) * strideW + (kernelW - 1) * dilationW + 1;
        final int rowFloats = outW * gemmK;
        final Staging s = STAGING.get().ensure(kernelH, stagedColumns * cin, rowFloats);
        final int groupOffset = g * cinG;
        int d = dstOffset;
        for (int oh = r0; oh < r1; oh++)
        {
            final int ihBase = oh * params.strideH() - params.padTop();
            for (int kh = 0; kh < kernelH; kh++)
            {
                final int ih = ihBase + kh * params.dilationH();
                s.inside[kh] = ih >= 0 && ih < in.height();
                if (s.inside[kh])
                {
                    Staged.stageRow(src, in.rowOffset(ih), in.width(), cin, params.padLeft(), stagedColumns,
                        s.rows[kh], 0f);
                }
            }
            final float[] row = s.row;
            for (int ow = 0; ow < outW; ow++)
            {
                final int column = ow * strideW;
                for (int kh = 0; kh < kernelH; kh++)
                {
                    final int base = (ow * kernelH + kh) * tapRunFloats;
                    if (!s.inside[kh])
                    {
                        java.util.Arrays.fill(row, base, base + tapRunFloats, 0f);
                    }
                    else if (contiguousTaps)
                    {
                        System.arraycopy(s.rows[kh], column * cin, row, base, tapRunFloats);
                    }
                    else
                    {
                        for (int kw = 0; kw < kernelW; kw++)
                        {
                            System.arraycopy(s.rows[kh], (column + kw * dilationW) * cin + groupOffset, row,
                                base + kw * cinG, cinG);
                        }
                    }
                }
            }
            dst.put(d, row, 0, rowFloats);
            d += rowFloats;
        }
    }

    /** One thread's heap arrays for {@link #staged}; grown when a layer needs more, never shrunk. */
    private static final class Staging
    {
        float[][] rows = new float[0][];
        boolean[] inside = new boolean[0];
        float[] row = new float[0];

        Staging ensure(final int rowCount, final int rowFloats, final int im2colRowFloats)
        {
            if (rows.length < rowCount)
            {
                rows = java.util.Arrays.copyOf(rows, rowCount);
                inside = new boolean[rowCount];
            }
            for (int i = 0; i < rowCount; i++)
            {
                if (rows[i] == null || rows[i].length < rowFloats)
                {
                    rows[i] = new float[rowFloats];
                }
            }
            if (row.length < im2colRowFloats)
            {
                row = new float[im2colRowFloats];
            }
            return this;
        }
    }

    private static void copy(
        final FloatBuffer src, final int srcIndex, final FloatBuffer dst, final int dstIndex, final int length)
    {
        // Measured: the bulk copy beats a get/put loop at every length, even 3 floats.
        if (length > 0)
        {
            dst.put(dstIndex, src, srcIndex, length);
        }
    }

}
