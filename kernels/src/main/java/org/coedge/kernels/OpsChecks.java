package org.coedge.kernels;

/**
 * Argument checks shared by the non-convolution kernels ({@link Pooling}, {@link Lrn}, {@link Pointwise}, ...). Each
 * is a few comparisons, cheap enough to run at the start of every forward call, and throws
 * {@link IllegalArgumentException} naming the operator and what was wrong.
 * <p>
 * Stateless; callable from any thread.
 */
final class OpsChecks
{
    private OpsChecks()
    {
    }

    /**
     * Checks that {@code [h0, h1)} is a row range of {@code out} and that {@code out} holds all of it.
     */
    static void checkOutputRows(final String op, final MapView out, final int h0, final int h1)
    {
        if (h0 < 0 || h1 < h0 || h1 > out.height())
        {
            throw new IllegalArgumentException(
                op + ": output rows [" + h0 + ", " + h1 + ") not inside [0, " + out.height() + ")");
        }
        if (h0 < h1 && (h0 < out.firstRow() || h1 > out.endRow()))
        {
            throw new IllegalArgumentException(op + ": output rows [" + h0 + ", " + h1 + ") but output view holds [" +
                out.firstRow() + ", " + out.endRow() + ")");
        }
    }

    /**
     * Checks that {@code view} holds every row of {@code [from, to)} inside the map (rows outside are padding).
     */
    static void checkInputRows(final String op, final String name, final MapView view, final int from, final int to)
    {
        final int lo = Math.max(from, 0);
        final int hi = Math.min(to, view.height());
        if (lo < hi && (lo < view.firstRow() || hi > view.endRow()))
        {
            throw new IllegalArgumentException(op + ": " + name + " rows [" + lo + ", " + hi + ") needed but view holds [" +
                view.firstRow() + ", " + view.endRow() + ") of " + view.height());
        }
    }

    /**
     * Checks that {@code a} has the shape {@code height x width x channels}.
     */
    static void checkShape(
        final String op, final String name, final MapView a, final int height, final int width, final int channels)
    {
        if (a.height() != height || a.width() != width || a.channels() != channels)
        {
            throw new IllegalArgumentException(op + ": " + name + " is " + a.height() + "x" + a.width() + "x" +
                a.channels() + ", expected " + height + "x" + width + "x" + channels);
        }
    }

    /**
     * Checks that the memory held by {@code in} and {@code out} does not overlap, for kernels that read neighbours of
     * an element after writing it.
     */
    static void checkDisjoint(final String op, final MapView in, final MapView out)
    {
        if (overlaps(in, out))
        {
            throw new IllegalArgumentException(op + ": input and output memory overlap: " + in + " and " + out);
        }
    }

    /**
     * Checks that {@code in} and {@code out} are either disjoint or alias element for element (same map layout, every
     * {@code (row, col, ch)} at the same float), the only two ways an element-by-element kernel can run in place.
     */
    static void checkSameOrDisjoint(final String op, final MapView in, final MapView out)
    {
        if (overlaps(in, out) && !(in.rowStride() == out.rowStride() && virtualBase(in) == virtualBase(out)))
        {
            throw new IllegalArgumentException(
                op + ": input and output overlap without aliasing element for element: " + in + " and " + out);
        }
    }

    /** @return {@code ceil(a / b)} for {@code b > 0} and any sign of {@code a}. */
    static int ceilDiv(final int a, final int b)
    {
        return -Math.floorDiv(-a, b);
    }

    /** Compares native addresses, so two regions wrapping the same memory are caught too. */
    private static boolean overlaps(final MapView a, final MapView b)
    {
        if (a.rowCount() == 0 || b.rowCount() == 0)
        {
            return false;
        }
        final long aStart = address(a, a.offset());
        final long bStart = address(b, b.offset());
        final long aEnd = address(a, a.offset() + (long)a.rowCount() * a.rowStride());
        final long bEnd = address(b, b.offset() + (long)b.rowCount() * b.rowStride());
        return aStart < bEnd && bStart < aEnd;
    }

    /** Address that row 0 would have: equal for two views that place every row at the same float. */
    private static long virtualBase(final MapView view)
    {
        return address(view, view.offset() - (long)view.firstRow() * view.rowStride());
    }

    private static long address(final MapView view, final long floatOffset)
    {
        return view.region().address() + floatOffset * Float.BYTES;
    }
}
