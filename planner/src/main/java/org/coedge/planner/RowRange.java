package org.coedge.planner;

/**
 * An immutable half-open range of feature-map rows {@code [start, end)}; empty when {@code start == end}.
 * <p>
 * Plain value used by every planner class; immutable, so safe on any thread.
 */
public final class RowRange
{
    /**
     * The canonical empty range.
     */
    public static final RowRange EMPTY = new RowRange(0, 0);

    private final int start;
    private final int end;

    private RowRange(final int start, final int end)
    {
        this.start = start;
        this.end = end;
    }

    /**
     * @param start first row, inclusive.
     * @param end   last row, exclusive; {@code end == start} gives an empty range.
     * @return the range {@code [start, end)}.
     */
    public static RowRange of(final int start, final int end)
    {
        if (start < 0 || end < start)
        {
            throw new IllegalArgumentException("invalid row range [" + start + ", " + end + ")");
        }
        return start == end ? new RowRange(start, start) : new RowRange(start, end);
    }

    public int start()
    {
        return start;
    }

    public int end()
    {
        return end;
    }

    public int rows()
    {
        return end - start;
    }

    public boolean isEmpty()
    {
        return end == start;
    }

    /**
     * @return true if {@code row} lies in this range.
     */
    public boolean contains(final int row)
    {
        return row >= start && row < end;
    }

    /**
     * The smallest range holding both: "the widest path wins". An empty range is the identity.
     */
    public RowRange hull(final RowRange other)
    {
        if (other.isEmpty())
        {
            return this;
        }
        if (isEmpty())
        {
            return other;
        }
        return of(Math.min(start, other.start), Math.max(end, other.end));
    }

    /**
     * @return the number of rows in both ranges.
     */
    public int overlapRows(final RowRange other)
    {
        return Math.max(0, Math.min(end, other.end) - Math.max(start, other.start));
    }

    public boolean equals(final Object o)
    {
        if (!(o instanceof RowRange))
        {
            return false;
        }
        final RowRange r = (RowRange)o;
        return (isEmpty() && r.isEmpty()) || (start == r.start && end == r.end);
    }

    public int hashCode()
    {
        return isEmpty() ? 0 : 31 * start + end;
    }

    public String toString()
    {
        return "[" + start + ", " + end + ")";
    }
}
