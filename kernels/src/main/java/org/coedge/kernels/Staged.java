package org.coedge.kernels;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Loops shared by the kernels that stage off-heap data in heap arrays. JDK 17's C2 vectorizes a loop only when every
 * array in it is indexed by the loop variable plus one constant offset, and never vectorizes loops over direct
 * buffers; so these kernels copy input rows into heap arrays (bulk copies), gather each tap's runs for a tile of output
 * pixels to offset 0 of a tile array, and run their arithmetic there. Stateless; called from any thread.
 */
final class Staged
{
    private Staged()
    {
    }

    /**
     * Copies one NHWC input row into {@code row} as {@code stagedColumns} columns starting at input column
     * {@code -padLeft}; columns outside the input hold {@code padValue}.
     *
     * @param src       the input's floats.
     * @param rowOffset region offset of the input row's first float.
     */
    static void stageRow(
        final FloatBuffer src, final int rowOffset, final int width, final int channels, final int padLeft,
        final int stagedColumns, final float[] row, final float padValue)
    {
        final int firstInside = Math.min(padLeft, stagedColumns);
        final int endInside = Math.min(stagedColumns, padLeft + width);
        Arrays.fill(row, 0, firstInside * channels, padValue);
        if (endInside > firstInside)
        {
            src.get(rowOffset + (firstInside - padLeft) * channels, row, firstInside * channels,
                (endInside - firstInside) * channels);
        }
        Arrays.fill(row, Math.max(endInside, firstInside) * channels, stagedColumns * channels, padValue);
    }

    /**
     * Copies, for {@code pixels} output pixels, the staged-row column each reads for one tap into consecutive
     * pixel slots of {@code x}: pixel p reads column {@code column + p * stride}.
     */
    static void gatherTap(
        final float[] row, final int column, final int stride, final int pixels, final int channels, final float[] x)
    {
        if (stride == 1)
        {
            System.arraycopy(row, column * channels, x, 0, pixels * channels);
        }
        else
        {
            for (int p = 0; p < pixels; p++)
            {
                System.arraycopy(row, (column + p * stride) * channels, x, p * channels, channels);
            }
        }
    }

    /** Applies {@code activation}, its affine tail included, to {@code x[0, length)} in place. */
    static void activate(final Activation activation, final float[] x, final int length)
    {
        switch (activation.kind())
        {
            case NONE:
                break;
            case RELU:
                for (int i = 0; i < length; i++)
                {
                    x[i] = Math.max(x[i], 0f);
                }
                break;
            case CLIP:
                final float lo = activation.alpha();
                final float hi = activation.beta();
                for (int i = 0; i < length; i++)
                {
                    x[i] = Math.min(Math.max(x[i], lo), hi);
                }
                break;
            case HARD_SWISH:
                // as Activation.apply, written out so that C2 vectorizes it
                for (int i = 0; i < length; i++)
                {
                    x[i] = x[i] * Math.max(0f, Math.min(1f, x[i] * (1f / 6f) + 0.5f));
                }
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    x[i] = activation.applyCore(x[i]);
                }
        }
        activation.affine(x, length);
    }
}
