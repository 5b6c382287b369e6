package org.coedge.engine.exec;

import org.coedge.planner.RowRange;

/**
 * How the fast NHWC kernels run an NCHW batch of N above 1: as N images that share the layer's weights. A value
 * {@code [N, C, H, W]} is held as one tall NHWC map of {@code N*H} rows ({@link Value#images()} = N), whose rows
 * {@code b*H .. (b+1)*H-1} are image b: exactly the NHWC memory order of the batch, so the model's edges convert it
 * image by image ({@link Layouts}).
 * <p>
 * Layers whose rows are independent (activations, elementwise ops, channel concat and softmax, LRN) run on the tall
 * map as they are. Window layers (convolutions of every kind, Winograd and depthwise included, pooling, Resize, Pad)
 * and global pooling hold one view per image ({@link Value#imageViews}) and cut a range of tall output rows at image
 * boundaries ({@link #run}); their halo function ({@link #inputRows}) maps output row {@code b*Ho + r} to the base
 * kernel's input rows of {@code r} moved by {@code b*H}, so no window reads across an image boundary. The planner
 * tabulates its RowMaps from that halo function ({@link PlanGraphs}), so the row split works unchanged: a device's
 * rows may span image boundaries, and each image's rows in them are computed from that image's rows alone.
 * <p>
 * Stateless helpers; the arithmetic is called on the planning thread, {@link #run} on the executor's threads
 * (allocation-free).
 */
final class ImageBatch
{
    /** A kernel's work over rows {@code [o0, o1)} of image {@code image}. */
    @FunctionalInterface
    interface ImageRows
    {
        void run(int image, int o0, int o1, org.coedge.kernels.FloatRegion scratch, int scratchOffset);
    }

    /** A kernel's halo function in one image's rows: input rows needed for output rows {@code [o0, o1)}. */
    @FunctionalInterface
    interface ImageSpan
    {
        RowRange inputRows(int o0, int o1);
    }

    private ImageBatch()
    {
    }

    /**
     * Runs tall output rows {@code [from, to)} image by image.
     *
     * @param outImageHeight output rows per image.
     */
    static void run(final int from, final int to, final int outImageHeight, final ImageRows rows,
        final org.coedge.kernels.FloatRegion scratch, final int scratchOffset)
    {
        for (int b = from / outImageHeight; b * outImageHeight < to; b++)
        {
            final int base = b * outImageHeight;
            rows.run(b, Math.max(from, base) - base, Math.min(to, base + outImageHeight) - base, scratch,
                scratchOffset);
        }
    }

    /**
     * @return the tall input rows tall output rows {@code out} need: the hull over the images they touch of each
     * image's input rows (from {@code span}) moved to that image's place.
     */
    static RowRange inputRows(final RowRange out, final int outImageHeight, final int inImageHeight,
        final ImageSpan span)
    {
        if (out.isEmpty())
        {
            return RowRange.EMPTY;
        }
        int first = Integer.MAX_VALUE;
        int end = Integer.MIN_VALUE;
        for (int b = out.start() / outImageHeight; b * outImageHeight < out.end(); b++)
        {
            final int base = b * outImageHeight;
            final RowRange r = span.inputRows(Math.max(out.start(), base) - base,
                Math.min(out.end(), base + outImageHeight) - base);
            if (!r.isEmpty())
            {
                first = Math.min(first, r.start() + b * inImageHeight);
                end = Math.max(end, r.end() + b * inImageHeight);
            }
        }
        return first > end ? RowRange.EMPTY : RowRange.of(first, end);
    }
}
