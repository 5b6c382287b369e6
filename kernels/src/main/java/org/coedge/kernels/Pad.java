package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX Pad over height and width of an NHWC map, modes constant, reflect and edge, plus leading and trailing channels
 * in constant mode. A negative pad crops, as ONNX allows. Each output row or column maps to one input row or column
 * (or to padding), computed once for columns at construction and on the fly for rows; the row map also answers which
 * input rows a range of output rows reads ({@link #firstInputRow}, {@link #endInputRow}).
 * <p>
 * Immutable; the engine calls one instance from several threads at once on disjoint output row ranges. The output
 * must not overlap the input.
 */
public final class Pad
{
    /** ONNX {@code mode}. */
    public enum Mode
    {
        /** Padding holds {@code value}. */
        CONSTANT,
        /** Mirror without repeating the edge: {@code -1 -> 1}, {@code n -> n - 2}. */
        REFLECT,
        /** Repeat the edge. */
        EDGE
    }

    private final Mode mode;
    private final float value;
    private final int inputHeight;
    private final int inputWidth;
    private final int inputChannels;
    private final int padTop;
    private final int padLeft;
    private final int padBottom;
    private final int padRight;
    private final int padChannelsFront;
    private final int padChannelsBack;
    private final int outputHeight;
    private final int outputWidth;
    private final int outputChannels;
    private final int[] sourceColumn; // (outputWidth): input column, or -1 for constant padding

    /**
     * @param mode             constant, reflect or edge.
     * @param value            the constant (ignored by reflect and edge).
     * @param inputHeight      input rows.
     * @param inputWidth       input columns.
     * @param inputChannels    input channels.
     * @param padTop           rows added above (negative crops).
     * @param padLeft          columns added left.
     * @param padBottom        rows added below.
     * @param padRight         columns added right.
     * @param padChannelsFront channels added before, constant mode only, at least 0.
     * @param padChannelsBack  channels added after, constant mode only, at least 0.
     */
    public Pad(
        final Mode mode, final float value,
        final int inputHeight, final int inputWidth, final int inputChannels,
        final int padTop, final int padLeft, final int padBottom, final int padRight,
        final int padChannelsFront, final int padChannelsBack)
    {
        if (mode == null)
        {
            throw new IllegalArgumentException("Pad mode is required");
        }
        if (inputHeight < 1 || inputWidth < 1 || inputChannels < 1)
        {
            throw new IllegalArgumentException(
                "Pad: bad input shape " + inputHeight + "x" + inputWidth + "x" + inputChannels);
        }
        if (padChannelsFront < 0 || padChannelsBack < 0 ||
            (mode != Mode.CONSTANT && (padChannelsFront != 0 || padChannelsBack != 0)))
        {
            throw new IllegalArgumentException("Pad: channel pads " + padChannelsFront + ", " + padChannelsBack +
                " must be >= 0 and need constant mode");
        }
        if (mode == Mode.REFLECT && (Math.max(padTop, padBottom) >= inputHeight ||
            Math.max(padLeft, padRight) >= inputWidth))
        {
            throw new IllegalArgumentException("Pad: reflect pads " + padTop + ", " + padLeft + ", " + padBottom +
                ", " + padRight + " must be smaller than the input " + inputHeight + "x" + inputWidth);
        }
        final long outH = (long)inputHeight + padTop + padBottom;
        final long outW = (long)inputWidth + padLeft + padRight;
        final long outC = (long)inputChannels + padChannelsFront + padChannelsBack;
        if (outH < 1 || outW < 1 || outH > Integer.MAX_VALUE || outW > Integer.MAX_VALUE || outC > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("Pad: output shape " + outH + "x" + outW + "x" + outC + " invalid");
        }
        this.mode = mode;
        this.value = value;
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.inputChannels = inputChannels;
        this.padTop = padTop;
        this.padLeft = padLeft;
        this.padBottom = padBottom;
        this.padRight = padRight;
        this.padChannelsFront = padChannelsFront;
        this.padChannelsBack = padChannelsBack;
        this.outputHeight = (int)outH;
        this.outputWidth = (int)outW;
        this.outputChannels = (int)outC;
        this.sourceColumn = new int[outputWidth];
        for (int ow = 0; ow < outputWidth; ow++)
        {
            sourceColumn[ow] = source(ow - padLeft, inputWidth);
        }
    }

    /** Height and width padding only. */
    public static Pad spatial(
        final Mode mode, final float value, final int inputHeight, final int inputWidth, final int inputChannels,
        final int padTop, final int padLeft, final int padBottom, final int padRight)
    {
        return new Pad(mode, value, inputHeight, inputWidth, inputChannels, padTop, padLeft, padBottom, padRight, 0, 0);
    }

    public Mode mode()
    {
        return mode;
    }

    public int outputHeight()
    {
        return outputHeight;
    }

    public int outputWidth()
    {
        return outputWidth;
    }

    public int outputChannels()
    {
        return outputChannels;
    }

    /** @return the input row that output row {@code oh} copies, or -1 if it is constant padding. */
    public int sourceRow(final int oh)
    {
        return source(oh - padTop, inputHeight);
    }

    /**
     * @return the first input row read by output rows {@code [o0, o1)}, {@code 0 <= o0 < o1 <= outputHeight};
     * equal to {@link #endInputRow} (both 0) when they are all constant padding.
     */
    public int firstInputRow(final int o0, final int o1)
    {
        checkRange(o0, o1);
        int first = Integer.MAX_VALUE;
        for (int o = o0; o < o1; o++)
        {
            final int row = sourceRow(o);
            if (row >= 0)
            {
                first = Math.min(first, row);
            }
        }
        return first == Integer.MAX_VALUE ? 0 : first;
    }

    /** @return one past the last input row read by output rows {@code [o0, o1)}. */
    public int endInputRow(final int o0, final int o1)
    {
        checkRange(o0, o1);
        int last = -1;
        for (int o = o0; o < o1; o++)
        {
            last = Math.max(last, sourceRow(o));
        }
        return last + 1;
    }

    /**
     * Computes output rows {@code [h0, h1)}.
     *
     * @param in  the input shape given at construction, holding rows {@code [firstInputRow(h0, h1),
     *            endInputRow(h0, h1))}.
     * @param out {@code outputHeight() x outputWidth() x outputChannels()}, holding rows {@code [h0, h1)}.
     * @throws IllegalArgumentException if a shape does not match, a row is not held, or the views overlap.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        OpsChecks.checkShape("Pad", "input", in, inputHeight, inputWidth, inputChannels);
        OpsChecks.checkShape("Pad", "output", out, outputHeight, outputWidth, outputChannels);
        OpsChecks.checkOutputRows("Pad", out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows("Pad", "input", in, firstInputRow(h0, h1), endInputRow(h0, h1));
        OpsChecks.checkDisjoint("Pad", in, out);

        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final int rowFloats = out.rowStride();
        for (int oh = h0; oh < h1; oh++)
        {
            final int ih = sourceRow(oh);
            final int o = out.rowOffset(oh);
            if (ih < 0)
            {
                fill(dst, o, rowFloats);
                continue;
            }
            final int i = in.rowOffset(ih);
            for (int ow = 0; ow < outputWidth; ow++)
            {
                final int iw = sourceColumn[ow];
                final int d = o + ow * outputChannels;
                if (iw < 0)
                {
                    fill(dst, d, outputChannels);
                    continue;
                }
                fill(dst, d, padChannelsFront);
                dst.put(d + padChannelsFront, src, i + iw * inputChannels, inputChannels);
                fill(dst, d + padChannelsFront + inputChannels, padChannelsBack);
            }
        }
    }

    /** Maps a position relative to the input ({@code -padBegin ...}) to an input index, or -1 for constant padding. */
    private int source(final int position, final int length)
    {
        if (position >= 0 && position < length)
        {
            return position;
        }
        switch (mode)
        {
            case CONSTANT:
                return -1;
            case EDGE:
                return position < 0 ? 0 : length - 1;
            default:
                return position < 0 ? -position : 2 * (length - 1) - position;
        }
    }

    private void fill(final FloatBuffer dst, final int offset, final int count)
    {
        for (int i = offset, end = offset + count; i < end; i++)
        {
            dst.put(i, value);
        }
    }

    private void checkRange(final int o0, final int o1)
    {
        if (o0 < 0 || o1 <= o0 || o1 > outputHeight)
        {
            throw new IllegalArgumentException(
                "Pad: output rows [" + o0 + ", " + o1 + ") not a non-empty range of " + outputHeight);
        }
    }

    @Override
    public String toString()
    {
        return "Pad{" + mode + (mode == Mode.CONSTANT ? " " + value : "") + ", pads " + padTop + "," + padLeft + "," +
            padBottom + "," + padRight + (padChannelsFront != 0 || padChannelsBack != 0 ?
            ", channels " + padChannelsFront + "," + padChannelsBack : "") + "}";
    }
}
