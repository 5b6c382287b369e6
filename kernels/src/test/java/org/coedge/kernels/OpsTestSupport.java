package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

/**
 * Builds row windows the way a row-sliced device holds them (only some rows of a map, at a non-zero offset, with
 * garbage around them) and checks kernel output against a reference.
 */
final class OpsTestSupport
{
    /** Garbage around and outside every window: huge, so a leak into any sum, max or copy shows. */
    static final float SENTINEL = 1.0e30f;

    /** Relative tolerance: max abs error / max |reference|. */
    static final double TOLERANCE = 1e-5;

    private OpsTestSupport()
    {
    }

    static float[] random(final SplittableRandom random, final int n)
    {
        final float[] values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)(random.nextDouble() * 2 - 1);
        }
        return values;
    }

    /** A view holding rows {@code [r0, r1)} of {@code full} at a random offset, sentinels before and after. */
    static MapView window(
        final SplittableRandom random, final float[] full, final int h, final int w, final int c,
        final int r0, final int r1)
    {
        final MapView view = emptyWindow(random, h, w, c, r0, r1);
        view.region().floats().put(view.offset(), full, r0 * w * c, (r1 - r0) * w * c);
        return view;
    }

    /** A view of rows {@code [r0, r1)} of an {@code h x w x c} map filled with sentinels, at a random offset. */
    static MapView emptyWindow(
        final SplittableRandom random, final int h, final int w, final int c, final int r0, final int r1)
    {
        final int lead = 1 + random.nextInt(9);
        final int trail = 1 + random.nextInt(9);
        final FloatRegion region = FloatRegion.allocate(lead + (r1 - r0) * w * c + trail);
        region.fill(0, region.length(), SENTINEL);
        return new MapView().wrap(region, lead, h, w, c, r0, r1 - r0);
    }

    /** An output window of rows {@code [h0, h1)} widened by a random number of rows each side. */
    static MapView outputWindow(final SplittableRandom random, final int h, final int w, final int c,
        final int h0, final int h1)
    {
        final int r0 = Math.max(0, h0 - random.nextInt(3));
        final int r1 = Math.min(h, h1 + random.nextInt(3));
        return emptyWindow(random, h, w, c, r0, r1);
    }

    /** @return a random non-empty row range {@code {h0, h1}} of {@code [0, height)}. */
    static int[] rowRange(final SplittableRandom random, final int height)
    {
        final int h0 = random.nextInt(height);
        final int h1 = h0 + 1 + random.nextInt(height - h0);
        return new int[]{h0, h1};
    }

    /**
     * Asserts rows {@code [h0, h1)} of {@code out} match the same rows of {@code expected} (a whole map) within
     * {@link #TOLERANCE}, and that every other float of the output region still holds the sentinel.
     */
    static void assertRows(final String what, final float[] expected, final MapView out, final int h0, final int h1)
    {
        final int stride = out.rowStride();
        final FloatRegion region = out.region();
        double maxError = 0;
        double maxReference = 0;
        for (int row = h0; row < h1; row++)
        {
            for (int i = 0; i < stride; i++)
            {
                final double e = expected[row * stride + i];
                final double a = region.floats().get(out.rowOffset(row) + i);
                maxError = Math.max(maxError, Math.abs(a - e));
                if (Double.isNaN(a) != Double.isNaN(e))
                {
                    maxError = Double.POSITIVE_INFINITY;
                }
                maxReference = Math.max(maxReference, Math.abs(e));
            }
        }
        assertTrue(maxError <= TOLERANCE * Math.max(maxReference, 1e-6),
            what + ": max error " + maxError + " for max |reference| " + maxReference);
        final int written0 = h0 < h1 ? out.rowOffset(h0) : 0;
        final int written1 = h0 < h1 ? out.rowOffset(h1 - 1) + stride : 0;
        for (int i = 0; i < region.length(); i++)
        {
            if (i < written0 || i >= written1)
            {
                assertEquals(SENTINEL, region.floats().get(i), what + ": float " + i + " outside rows [" + h0 + ", " +
                    h1 + ") was written");
            }
        }
    }

    /** Asserts every float of {@code region} still holds the sentinel. */
    static void assertUntouched(final String what, final FloatRegion region)
    {
        for (int i = 0; i < region.length(); i++)
        {
            assertEquals(SENTINEL, region.floats().get(i), what + ": float " + i + " was written");
        }
    }
}
