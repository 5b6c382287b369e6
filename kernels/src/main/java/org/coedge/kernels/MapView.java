package org.coedge.kernels;

/**
 * A borrowed window of rows of one NHWC feature map (batch 1) in a {@link FloatRegion}.
 * <p>
 * The full map is {@code height x width x channels}; this view holds rows {@code [firstRow, firstRow + rowCount)} of
 * it, row {@code firstRow} starting at float {@code offset} of the region, each row {@code width * channels} floats,
 * contiguous. A device that owns only a slice of a map (plus halo rows) holds exactly such a window: kernels address
 * rows in full-map coordinates, treat rows outside {@code [0, height)} as padding, and require every row inside
 * {@code [0, height)} they touch to be in the window.
 * <p>
 * A view is a small mutable flyweight so that callers can re-point it without allocating; it owns no memory.
 */
public final class MapView
{
    private FloatRegion region;
    private int offset;
    private int height;
    private int width;
    private int channels;
    private int firstRow;
    private int rowCount;

    /** A view of the whole map {@code height x width x channels} at {@code offset}. */
    public static MapView of(final FloatRegion region, final int offset, final int height, final int width,
        final int channels)
    {
        return new MapView().wrap(region, offset, height, width, channels, 0, height);
    }

    /**
     * Points this view at rows {@code [firstRow, firstRow + rowCount)} of a {@code height x width x channels} map.
     *
     * @return this.
     * @throws IllegalArgumentException if a dimension is not positive, the window is not inside {@code [0, height)}, or
     *                                  the rows do not fit in the region.
     */
    public MapView wrap(final FloatRegion region, final int offset, final int height, final int width,
        final int channels, final int firstRow, final int rowCount)
    {
        if (height < 1 || width < 1 || channels < 1)
        {
            throw new IllegalArgumentException("bad map shape " + height + "x" + width + "x" + channels);
        }
        if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > height)
        {
            throw new IllegalArgumentException(
                "row window [" + firstRow + ", " + (firstRow + rowCount) + ") outside map of " + height + " rows");
        }
        region.checkRange(offset, (long)rowCount * width * channels);
        this.region = region;
        this.offset = offset;
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.firstRow = firstRow;
        this.rowCount = rowCount;
        return this;
    }

    /** @return a new view of rows {@code [from, from + count)} of this view (same memory). */
    public MapView rows(final int from, final int count)
    {
        checkRows(from, from + count);
        return new MapView().wrap(region, rowOffset(from), height, width, channels, from, count);
    }

    public FloatRegion region()
    {
        return region;
    }

    /** @return the region offset of the first row held. */
    public int offset()
    {
        return offset;
    }

    /** @return full-map height. */
    public int height()
    {
        return height;
    }

    public int width()
    {
        return width;
    }

    public int channels()
    {
        return channels;
    }

    public int firstRow()
    {
        return firstRow;
    }

    public int rowCount()
    {
        return rowCount;
    }

    /** @return one past the last row held. */
    public int endRow()
    {
        return firstRow + rowCount;
    }

    /** @return floats in one row: {@code width * channels}. */
    public int rowStride()
    {
        return width * channels;
    }

    /** @return {@code true} if full-map row {@code row} is in this window. */
    public boolean holds(final int row)
    {
        return row >= firstRow && row < firstRow + rowCount;
    }

    /** @return region offset of full-map row {@code row}; the caller has checked {@link #holds(int)}. */
    public int rowOffset(final int row)
    {
        return offset + (row - firstRow) * width * channels;
    }

    /** @return region offset of element {@code (row, col, ch)}; the caller has checked the row is held. */
    public int index(final int row, final int col, final int ch)
    {
        return offset + ((row - firstRow) * width + col) * channels + ch;
    }

    /**
     * Checks that every row in {@code [from, to)} that lies in {@code [0, height)} is held by this view.
     *
     * @throws IllegalArgumentException naming the missing rows.
     */
    public void checkRows(final int from, final int to)
    {
        final int lo = Math.max(from, 0);
        final int hi = Math.min(to, height);
        if (lo < hi && (lo < firstRow || hi > firstRow + rowCount))
        {
            throw new IllegalArgumentException("rows [" + lo + ", " + hi + ") needed but view holds [" + firstRow +
                ", " + (firstRow + rowCount) + ") of " + height);
        }
    }

    @Override
    public String toString()
    {
        return "MapView{" + height + "x" + width + "x" + channels + " rows [" + firstRow + ", " +
            (firstRow + rowCount) + ") @" + offset + "}";
    }
}
