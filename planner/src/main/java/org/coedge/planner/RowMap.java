package org.coedge.planner;

import java.util.Arrays;

/**
 * For every output row {@code o} of a layer, the rows {@code [first(o), end(o))} of ONE of its inputs that the row
 * needs. A contiguous range of output rows needs the hull of what its rows need. The tables need not be monotone:
 * near a border a reflect or edge pad copies input rows in reverse order (output row 0 of a reflect pad of 2 reads
 * input row 2, row 1 reads row 1), so the hull is taken over every row of the range, not read off its two ends. A
 * GLOBAL map needs every input row for every output row and ends the spatial part.
 * <p>
 * Built by the engine (or tests) when a model is described to the planner; immutable, so safe on any thread.
 */
public final class RowMap
{
    private final int inputHeightRows;
    private final int[] first;
    private final int[] end;
    private final boolean global;

    private RowMap(final int inputHeightRows, final int[] first, final int[] end, final boolean global)
    {
        this.inputHeightRows = inputHeightRows;
        this.first = first;
        this.end = end;
        this.global = global;
        validate();
    }

    /**
     * Output row {@code o} needs input row {@code o}: pointwise, 1x1, elementwise and concat inputs.
     */
    public static RowMap identity(final int heightRows)
    {
        final int[] first = new int[heightRows];
        final int[] end = new int[heightRows];
        for (int o = 0; o < heightRows; o++)
        {
            first[o] = o;
            end[o] = o + 1;
        }
        return new RowMap(heightRows, first, end, false);
    }

    /**
     * Convolution or pooling window: output row {@code o} needs {@code [o*s - p, o*s - p + (k-1)*d + 1)} clipped to
     * the input (rows outside are padding).
     */
    public static RowMap window(
        final int kernel,
        final int stride,
        final int dilation,
        final int padTop,
        final int inputHeightRows,
        final int outputHeightRows)
    {
        checkWindow(kernel, stride, dilation, padTop, inputHeightRows, outputHeightRows);
        final int[] first = new int[outputHeightRows];
        final int[] end = new int[outputHeightRows];
        for (int o = 0; o < outputHeightRows; o++)
        {
            final int lo = o * stride - padTop;
            final int hi = lo + (kernel - 1) * dilation + 1;
            first[o] = clip(lo, inputHeightRows);
            end[o] = Math.max(first[o], clip(hi, inputHeightRows));
        }
        return new RowMap(inputHeightRows, first, end, false);
    }

    /**
     * Transposed convolution: input row {@code i} contributes to output row {@code o} iff {@code o = i*s - p + t*d}
     * for a tap {@code t} in {@code [0, k)}. The exact sets can be non-monotone (large dilation) or empty (stride
     * above kernel), so the map is their smallest monotone envelope: a superset, which is safe for halo planning.
     */
    public static RowMap transposedWindow(
        final int kernel,
        final int stride,
        final int dilation,
        final int padTop,
        final int inputHeightRows,
        final int outputHeightRows)
    {
        checkWindow(kernel, stride, dilation, padTop, inputHeightRows, outputHeightRows);
        final int[] lo = new int[outputHeightRows];
        final int[] hi = new int[outputHeightRows];
        Arrays.fill(lo, Integer.MAX_VALUE);
        Arrays.fill(hi, Integer.MIN_VALUE);
        for (int i = 0; i < inputHeightRows; i++)
        {
            for (int t = 0; t < kernel; t++)
            {
                final long o = (long)i * stride - padTop + (long)t * dilation;
                if (o >= 0 && o < outputHeightRows)
                {
                    lo[(int)o] = Math.min(lo[(int)o], i);
                    hi[(int)o] = Math.max(hi[(int)o], i + 1);
                }
            }
        }
        final int[] first = new int[outputHeightRows];
        final int[] end = new int[outputHeightRows];
        int suffixMin = Integer.MAX_VALUE;
        for (int o = outputHeightRows - 1; o >= 0; o--)
        {
            suffixMin = Math.min(suffixMin, lo[o]);
            first[o] = Math.min(suffixMin, inputHeightRows);
        }
        int prefixMax = 0;
        for (int o = 0; o < outputHeightRows; o++)
        {
            prefixMax = Math.max(prefixMax, hi[o]);
            end[o] = Math.max(prefixMax, first[o]);
        }
        return new RowMap(inputHeightRows, first, end, false);
    }

    /**
     * Any other operator (Resize, Pad, ...): the engine fills the tables from its kernels' own halo functions.
     * The arrays are copied.
     */
    public static RowMap table(final int inputHeightRows, final int[] first, final int[] end)
    {
        if (first.length != end.length)
        {
            throw new IllegalArgumentException(
                "row map tables differ in length: first=" + first.length + " end=" + end.length);
        }
        return new RowMap(inputHeightRows, first.clone(), end.clone(), false);
    }

    /**
     * Global pooling, flatten, fully-connected: every output row needs all input rows.
     */
    public static RowMap global(final int inputHeightRows, final int outputHeightRows)
    {
        final int[] first = new int[outputHeightRows];
        final int[] end = new int[outputHeightRows];
        Arrays.fill(end, inputHeightRows);
        return new RowMap(inputHeightRows, first, end, true);
    }

    public int inputHeightRows()
    {
        return inputHeightRows;
    }

    public int outputHeightRows()
    {
        return first.length;
    }

    public boolean isGlobal()
    {
        return global;
    }

    /**
     * @return first input row needed by output row {@code o}.
     */
    public int first(final int o)
    {
        return first[o];
    }

    /**
     * @return end (exclusive) of the input rows needed by output row {@code o}.
     */
    public int end(final int o)
    {
        return end[o];
    }

    /**
     * Input rows needed by the output rows {@code out}: the hull of the rows each output row needs, whatever their
     * order. Output rows that need nothing add nothing. Linear in the range's length; called at plan time only.
     */
    public RowRange inputRows(final RowRange out)
    {
        if (out.isEmpty())
        {
            return RowRange.EMPTY;
        }
        if (out.end() > first.length)
        {
            throw new IllegalArgumentException("output rows " + out + " beyond height " + first.length);
        }
        int lo = Integer.MAX_VALUE;
        int hi = Integer.MIN_VALUE;
        for (int o = out.start(); o < out.end(); o++)
        {
            if (first[o] < end[o])
            {
                lo = Math.min(lo, first[o]);
                hi = Math.max(hi, end[o]);
            }
        }
        return lo == Integer.MAX_VALUE ? RowRange.EMPTY : RowRange.of(lo, hi);
    }

    private void validate()
    {
        if (inputHeightRows <= 0)
        {
            throw new IllegalArgumentException("row map input height must be positive: " + inputHeightRows);
        }
        if (first.length == 0)
        {
            throw new IllegalArgumentException("row map output height must be positive");
        }
        for (int o = 0; o < first.length; o++)
        {
            if (first[o] < 0 || end[o] < first[o] || end[o] > inputHeightRows)
            {
                throw new IllegalArgumentException("row map: output row " + o + " needs [" + first[o] + ", " +
                    end[o] + ") not inside input [0, " + inputHeightRows + ")");
            }
        }
    }

    private static void checkWindow(
        final int kernel,
        final int stride,
        final int dilation,
        final int padTop,
        final int inputHeightRows,
        final int outputHeightRows)
    {
        if (kernel < 1 || stride < 1 || dilation < 1 || padTop < 0 || inputHeightRows < 1 || outputHeightRows < 1)
        {
            throw new IllegalArgumentException("invalid window: kernel=" + kernel + " stride=" + stride +
                " dilation=" + dilation + " padTop=" + padTop + " inputHeight=" + inputHeightRows +
                " outputHeight=" + outputHeightRows);
        }
    }

    private static int clip(final int row, final int heightRows)
    {
        return Math.max(0, Math.min(row, heightRows));
    }
}
