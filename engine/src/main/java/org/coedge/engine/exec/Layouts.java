package org.coedge.engine.exec;

import java.nio.FloatBuffer;

/**
 * Conversions between the model's NCHW layout at its edges and the engine's NHWC layout inside. Called once per
 * input and output per request; allocation-free.
 */
public final class Layouts
{
    private Layouts()
    {
    }

    /** Copies {@code src[srcOffset..]} (C x H x W) into {@code dst[dstOffset..]} as H x W x C. */
    public static void nchwToNhwc(
        final float[] src, final int srcOffset, final FloatBuffer dst, final int dstOffset, final MapShape shape)
    {
        final int h = shape.height();
        final int w = shape.width();
        final int c = shape.channels();
        final int plane = h * w;
        if (c == 1 || plane == 1)
        {
            dst.put(dstOffset, src, srcOffset, shape.size());
            return;
        }
        for (int ch = 0; ch < c; ch++)
        {
            final int srcBase = srcOffset + ch * plane;
            for (int p = 0; p < plane; p++)
            {
                dst.put(dstOffset + p * c + ch, src[srcBase + p]);
            }
        }
    }

    /**
     * Copies rows {@code [firstRow, firstRow + rowCount)} of the NCHW map at {@code src[srcOffset..]} into
     * {@code dst[dstOffset..]} as NHWC rows (a device's share of a split input).
     */
    public static void nchwRowsToNhwc(
        final float[] src, final int srcOffset, final FloatBuffer dst, final int dstOffset, final MapShape shape,
        final int firstRow, final int rowCount)
    {
        final int h = shape.height();
        final int w = shape.width();
        final int c = shape.channels();
        for (int y = firstRow; y < firstRow + rowCount; y++)
        {
            final int rowBase = dstOffset + (y - firstRow) * w * c;
            for (int ch = 0; ch < c; ch++)
            {
                final int srcBase = srcOffset + (ch * h + y) * w;
                for (int x = 0; x < w; x++)
                {
                    dst.put(rowBase + x * c + ch, src[srcBase + x]);
                }
            }
        }
    }

    /** Copies {@code src[srcOffset..]} (H x W x C) into {@code dst[dstOffset..]} as C x H x W. */
    public static void nhwcToNchw(
        final FloatBuffer src, final int srcOffset, final float[] dst, final int dstOffset, final MapShape shape)
    {
        final int h = shape.height();
        final int w = shape.width();
        final int c = shape.channels();
        final int plane = h * w;
        if (c == 1 || plane == 1)
        {
            src.get(srcOffset, dst, dstOffset, shape.size());
            return;
        }
        for (int p = 0; p < plane; p++)
        {
            final int srcBase = srcOffset + p * c;
            for (int ch = 0; ch < c; ch++)
            {
                dst[dstOffset + ch * plane + p] = src.get(srcBase + ch);
            }
        }
    }

    /** Copies a whole model input, given row-major in the model's dims, into the arena, image by image. */
    public static void inputInto(final Value v, final float[] nchw, final org.coedge.kernels.FloatRegion arena)
    {
        final float[] held = v.inHeldOrder(nchw);
        final MapShape image = v.imageShape();
        for (int b = 0; b < v.images(); b++)
        {
            nchwToNhwc(held, b * image.size(), arena.floats(), v.offset() + b * image.size(), image);
        }
    }

    /** Copies a whole model output (every row held) from {@code src} into {@code nchw}, image by image. */
    public static void outputOf(final Value v, final FloatBuffer src, final float[] nchw)
    {
        final MapShape image = v.imageShape();
        for (int b = 0; b < v.images(); b++)
        {
            nhwcToNchw(src, v.offset() + b * image.size(), nchw, b * image.size(), image);
        }
    }

    /**
     * Copies the rows of input {@code v} this device holds (its window) from a whole NCHW tensor into the arena.
     *
     * @throws IllegalArgumentException if {@code nchw} is not the size of the whole input.
     */
    public static void inputRowsInto(final Value v, final float[] nchw, final org.coedge.kernels.FloatRegion arena)
    {
        if (nchw.length != v.shape().size())
        {
            throw new IllegalArgumentException("input '" + v.name() + "' needs " + v.shape().size() +
                " floats, got " + nchw.length);
        }
        final float[] held = v.inHeldOrder(nchw);
        final MapShape image = v.imageShape();
        final int h = image.height();
        // the held rows, cut at image boundaries: each piece is rows of one image's NCHW map
        for (int row = v.firstRow(); row < v.firstRow() + v.rowCount(); )
        {
            final int b = row / h;
            final int end = Math.min(v.firstRow() + v.rowCount(), (b + 1) * h);
            nchwRowsToNhwc(held, b * image.size(), arena.floats(), v.rowOffset(row), image, row - b * h,
                end - row);
            row = end;
        }
    }
}
