package org.coedge.kernels;

/**
 * The hyper-parameters of one 2-D convolution (ONNX {@code Conv}) or transposed convolution (ONNX
 * {@code ConvTranspose}) over NHWC maps, and the pure row arithmetic that follows from them: output sizes and which
 * input rows a range of output rows needs (the halo rule the planner and the row-slice executor share).
 * <p>
 * Built and validated once by {@link #conv(int, int, int, int)} or {@link #transpose(int, int, int, int)} and a
 * {@link Builder}; immutable afterwards, so one instance is shared by every kernel, planner and thread that needs it.
 */
public final class ConvParams
{
    private final boolean transposed;
    private final int inChannels;
    private final int outChannels;
    private final int groups;
    private final int kernelH;
    private final int kernelW;
    private final int strideH;
    private final int strideW;
    private final int dilationH;
    private final int dilationW;
    private final int padTop;
    private final int padLeft;
    private final int padBottom;
    private final int padRight;
    private final int outputPaddingH;
    private final int outputPaddingW;

    private ConvParams(final Builder b)
    {
        transposed = b.transposed;
        inChannels = b.inChannels;
        outChannels = b.outChannels;
        groups = b.groups;
        kernelH = b.kernelH;
        kernelW = b.kernelW;
        strideH = b.strideH;
        strideW = b.strideW;
        dilationH = b.dilationH;
        dilationW = b.dilationW;
        padTop = b.padTop;
        padLeft = b.padLeft;
        padBottom = b.padBottom;
        padRight = b.padRight;
        outputPaddingH = b.outputPaddingH;
        outputPaddingW = b.outputPaddingW;
    }

    /**
     * Starts the parameters of a convolution; defaults are groups 1, stride 1, dilation 1, no padding.
     *
     * @param inChannels  input channels (all groups).
     * @param outChannels output channels (all groups).
     * @param kernelH     kernel rows.
     * @param kernelW     kernel columns.
     * @return a builder.
     */
    public static Builder conv(final int inChannels, final int outChannels, final int kernelH, final int kernelW)
    {
        return new Builder(false, inChannels, outChannels, kernelH, kernelW);
    }

    /**
     * Starts the parameters of a transposed convolution; defaults are groups 1, stride 1, dilation 1, no padding and
     * no output padding.
     *
     * @param inChannels  input channels (all groups).
     * @param outChannels output channels (all groups).
     * @param kernelH     kernel rows.
     * @param kernelW     kernel columns.
     * @return a builder.
     */
    public static Builder transpose(final int inChannels, final int outChannels, final int kernelH, final int kernelW)
    {
        return new Builder(true, inChannels, outChannels, kernelH, kernelW);
    }

    /** @return {@code true} for ConvTranspose, {@code false} for Conv. */
    public boolean transposed()
    {
        return transposed;
    }

    public int inChannels()
    {
        return inChannels;
    }

    public int outChannels()
    {
        return outChannels;
    }

    public int groups()
    {
        return groups;
    }

    /** @return input channels per group. */
    public int inChannelsPerGroup()
    {
        return inChannels / groups;
    }

    /** @return output channels per group. */
    public int outChannelsPerGroup()
    {
        return outChannels / groups;
    }

    public int kernelH()
    {
        return kernelH;
    }

    public int kernelW()
    {
        return kernelW;
    }

    public int strideH()
    {
        return strideH;
    }

    public int strideW()
    {
        return strideW;
    }

    public int dilationH()
    {
        return dilationH;
    }

    public int dilationW()
    {
        return dilationW;
    }

    public int padTop()
    {
        return padTop;
    }

    public int padLeft()
    {
        return padLeft;
    }

    public int padBottom()
    {
        return padBottom;
    }

    public int padRight()
    {
        return padRight;
    }

    public int outputPaddingH()
    {
        return outputPaddingH;
    }

    public int outputPaddingW()
    {
        return outputPaddingW;
    }

    /** @return {@code true} for a Conv whose every input channel is its own group with one output channel. */
    public boolean isDepthwise()
    {
        return !transposed && groups == inChannels && groups == outChannels;
    }

    /** @return {@code true} for a 1x1, stride 1, unpadded Conv: output pixel i reads only input pixel i. */
    public boolean isPointwise()
    {
        return !transposed && kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 &&
            padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0;
    }

    /**
     * @param inputHeight rows of the input map.
     * @return rows of the output map (ONNX Conv or ConvTranspose formula).
     * @throws IllegalArgumentException if the input is empty or too small to give one output row.
     */
    public int outputHeight(final int inputHeight)
    {
        return outputSize("height", inputHeight, kernelH, strideH, dilationH, padTop, padBottom, outputPaddingH);
    }

    /**
     * @param inputWidth columns of the input map.
     * @return columns of the output map (ONNX Conv or ConvTranspose formula).
     * @throws IllegalArgumentException if the input is empty or too small to give one output column.
     */
    public int outputWidth(final int inputWidth)
    {
        return outputSize("width", inputWidth, kernelW, strideW, dilationW, padLeft, padRight, outputPaddingW);
    }

    /**
     * First input row of the smallest row range holding every input row that output rows {@code [o0, o1)} depend on,
     * in full-map coordinates and unclipped: it is negative where the range reaches into the top padding.
     * <p>
     * Conv: {@code o0 * strideH - padTop}. ConvTranspose: the least input row {@code i} with some kernel row {@code kh}
     * giving {@code o0 <= i * strideH - padTop + kh * dilationH < o1}. The range is empty (first == end) when no
     * input row contributes, which only a ConvTranspose can give.
     *
     * @param o0 first output row.
     * @param o1 one past the last output row, {@code > o0}.
     * @return the first input row needed.
     */
    public int firstInputRow(final int o0, final int o1)
    {
        checkOutputRange(o0, o1);
        if (!transposed)
        {
            return o0 * strideH - padTop;
        }
        int first = Integer.MAX_VALUE;
        for (int kh = 0; kh < kernelH; kh++)
        {
            final int lo = ceilDiv(o0 + padTop - kh * dilationH, strideH);
            final int hi = ceilDiv(o1 + padTop - kh * dilationH, strideH);
            if (lo < hi)
            {
                first = Math.min(first, lo);
            }
        }
        return first == Integer.MAX_VALUE ? ceilDiv(o0 + padTop, strideH) : first;
    }

    /**
     * One past the last input row of the range described at {@link #firstInputRow(int, int)}, unclipped: it may exceed
     * the input height where the range reaches into the bottom padding.
     * <p>
     * Conv: {@code (o1 - 1) * strideH - padTop + (kernelH - 1) * dilationH + 1}.
     *
     * @param o0 first output row.
     * @param o1 one past the last output row, {@code > o0}.
     * @return one past the last input row needed.
     */
    public int endInputRow(final int o0, final int o1)
    {
        checkOutputRange(o0, o1);
        if (!transposed)
        {
            return (o1 - 1) * strideH - padTop + (kernelH - 1) * dilationH + 1;
        }
        int end = Integer.MIN_VALUE;
        for (int kh = 0; kh < kernelH; kh++)
        {
            final int lo = ceilDiv(o0 + padTop - kh * dilationH, strideH);
            final int hi = ceilDiv(o1 + padTop - kh * dilationH, strideH);
            if (lo < hi)
            {
                end = Math.max(end, hi);
            }
        }
        return end == Integer.MIN_VALUE ? ceilDiv(o0 + padTop, strideH) : end;
    }

    /**
     * {@link #firstInputRow(int, int)} clipped to the input map: the first row a view must hold.
     *
     * @param o0          first output row.
     * @param o1          one past the last output row, {@code > o0}.
     * @param inputHeight rows of the input map.
     * @return a row in {@code [0, inputHeight]}.
     */
    public int firstInputRowClipped(final int o0, final int o1, final int inputHeight)
    {
        return clamp(firstInputRow(o0, o1), 0, inputHeight);
    }

    /**
     * {@link #endInputRow(int, int)} clipped to the input map, never below
     * {@link #firstInputRowClipped(int, int, int)}: one past the last row a view must hold.
     *
     * @param o0          first output row.
     * @param o1          one past the last output row, {@code > o0}.
     * @param inputHeight rows of the input map.
     * @return a row in {@code [firstInputRowClipped, inputHeight]}.
     */
    public int endInputRowClipped(final int o0, final int o1, final int inputHeight)
    {
        return clamp(endInputRow(o0, o1), firstInputRowClipped(o0, o1, inputHeight), inputHeight);
    }

    /**
     * Checks the cheap preconditions of computing output rows {@code [h0, h1)} from {@code in} into {@code out}:
     * channel counts, the output map's shape, the row range, that {@code out} holds {@code [h0, h1)}, that {@code in}
     * holds every input row inside the map that the range needs, and that those input and output rows do not overlap.
     *
     * @throws IllegalArgumentException saying which precondition failed.
     */
    public void checkCall(final MapView in, final MapView out, final int h0, final int h1)
    {
        if (in.channels() != inChannels)
        {
            throw new IllegalArgumentException("input has " + in.channels() + " channels, " + this + " expects " +
                inChannels);
        }
        if (out.channels() != outChannels)
        {
            throw new IllegalArgumentException("output has " + out.channels() + " channels, " + this + " expects " +
                outChannels);
        }
        final int outH = outputHeight(in.height());
        final int outW = outputWidth(in.width());
        if (out.height() != outH || out.width() != outW)
        {
            throw new IllegalArgumentException("output map is " + out.height() + "x" + out.width() + ", input " +
                in.height() + "x" + in.width() + " gives " + outH + "x" + outW + " for " + this);
        }
        if (h0 < 0 || h0 > h1 || h1 > outH)
        {
            throw new IllegalArgumentException("output rows [" + h0 + ", " + h1 + ") not a range of [0, " + outH + ")");
        }
        if (h0 == h1)
        {
            return;
        }
        if (h0 < out.firstRow() || h1 > out.endRow())
        {
            throw new IllegalArgumentException("output rows [" + h0 + ", " + h1 + ") requested but output view " +
                "holds [" + out.firstRow() + ", " + out.endRow() + ")");
        }
        final int i0 = firstInputRowClipped(h0, h1, in.height());
        final int i1 = endInputRowClipped(h0, h1, in.height());
        if (i0 < i1 && (i0 < in.firstRow() || i1 > in.endRow()))
        {
            throw new IllegalArgumentException("output rows [" + h0 + ", " + h1 + ") need input rows [" + i0 + ", " +
                i1 + ") but input view holds [" + in.firstRow() + ", " + in.endRow() + ") of " + in.height());
        }
        if (i0 < i1 && in.region() == out.region())
        {
            final long inStart = in.rowOffset(i0);
            final long inEnd = inStart + (long)(i1 - i0) * in.rowStride();
            final long outStart = out.rowOffset(h0);
            final long outEnd = outStart + (long)(h1 - h0) * out.rowStride();
            if (inStart < outEnd && outStart < inEnd)
            {
                throw new IllegalArgumentException("input rows [" + i0 + ", " + i1 + ") and output rows [" + h0 +
                    ", " + h1 + ") overlap in one region");
            }
        }
    }

    /**
     * Checks a residual operand for output rows {@code [h0, h1)} of {@code out}: same height, width and channels, holds
     * those rows, and they do not overlap the output's rows in one region (the output is written before the residual
     * is read).
     *
     * @throws IllegalArgumentException if it does not fit.
     */
    public static void checkResidual(final MapView residual, final MapView out, final int h0, final int h1)
    {
        if (residual.height() != out.height() || residual.width() != out.width() ||
            residual.channels() != out.channels())
        {
            throw new IllegalArgumentException("residual map is " + residual.height() + "x" + residual.width() + "x" +
                residual.channels() + ", output " + out.height() + "x" + out.width() + "x" + out.channels());
        }
        if (h0 == h1)
        {
            return;
        }
        if (h0 < residual.firstRow() || h1 > residual.endRow())
        {
            throw new IllegalArgumentException("output rows [" + h0 + ", " + h1 + ") need residual rows that view " +
                "holds only [" + residual.firstRow() + ", " + residual.endRow() + ")");
        }
        if (residual.region() == out.region())
        {
            final long rStart = residual.rowOffset(h0);
            final long oStart = out.rowOffset(h0);
            final long length = (long)(h1 - h0) * out.rowStride();
            if (rStart < oStart + length && oStart < rStart + length)
            {
                throw new IllegalArgumentException("residual rows and output rows [" + h0 + ", " + h1 + ") overlap " +
                    "in one region");
            }
        }
    }

    @Override
    public String toString()
    {
        return (transposed ? "ConvTranspose" : "Conv") + "{" + inChannels + "->" + outChannels +
            (groups != 1 ? " g" + groups : "") + " k" + kernelH + "x" + kernelW + " s" + strideH + "x" + strideW +
            " d" + dilationH + "x" + dilationW + " pads[" + padTop + "," + padLeft + "," + padBottom + "," +
            padRight + "]" + (transposed ? " outPad" + outputPaddingH + "x" + outputPaddingW : "") + "}";
    }

    private int outputSize(
        final String axis, final int input, final int kernel, final int stride, final int dilation,
        final int padBegin, final int padEnd, final int outputPadding)
    {
        if (input < 1)
        {
            throw new IllegalArgumentException("input " + axis + " must be >= 1: " + input);
        }
        final long extent = (long)(kernel - 1) * dilation + 1;
        final long size = transposed ?
            (long)stride * (input - 1) + outputPadding + extent - padBegin - padEnd :
            ((long)input + padBegin + padEnd - extent) / stride + 1;
        if (size < 1 || (!transposed && input + padBegin + padEnd < extent) || size > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("input " + axis + " " + input + " gives no valid output " + axis +
                " for " + this);
        }
        return (int)size;
    }

    private static void checkOutputRange(final int o0, final int o1)
    {
        if (o0 >= o1)
        {
            throw new IllegalArgumentException("empty output row range [" + o0 + ", " + o1 + ")");
        }
    }

    private static int ceilDiv(final int x, final int y)
    {
        return -Math.floorDiv(-x, y);
    }

    private static int clamp(final int value, final int lo, final int hi)
    {
        return Math.min(Math.max(value, lo), hi);
    }

    /**
     * Collects and validates convolution parameters; used once per layer when a model is prepared.
     */
    public static final class Builder
    {
        private final boolean transposed;
        private final int inChannels;
        private final int outChannels;
        private final int kernelH;
        private final int kernelW;
        private int groups = 1;
        private int strideH = 1;
        private int strideW = 1;
        private int dilationH = 1;
        private int dilationW = 1;
        private int padTop;
        private int padLeft;
        private int padBottom;
        private int padRight;
        private int outputPaddingH;
        private int outputPaddingW;

        private Builder(
            final boolean transposed, final int inChannels, final int outChannels, final int kernelH,
            final int kernelW)
        {
            this.transposed = transposed;
            this.inChannels = inChannels;
            this.outChannels = outChannels;
            this.kernelH = kernelH;
            this.kernelW = kernelW;
        }

        public Builder groups(final int groups)
        {
            this.groups = groups;
            return this;
        }

        public Builder stride(final int strideH, final int strideW)
        {
            this.strideH = strideH;
            this.strideW = strideW;
            return this;
        }

        public Builder dilation(final int dilationH, final int dilationW)
        {
            this.dilationH = dilationH;
            this.dilationW = dilationW;
            return this;
        }

        /** Sets explicit pads in ONNX order: begin of H, begin of W, end of H, end of W. */
        public Builder pads(final int padTop, final int padLeft, final int padBottom, final int padRight)
        {
            this.padTop = padTop;
            this.padLeft = padLeft;
            this.padBottom = padBottom;
            this.padRight = padRight;
            return this;
        }

        /** Sets the same pad on all four sides. */
        public Builder pad(final int pad)
        {
            return pads(pad, pad, pad, pad);
        }

        /** Sets ConvTranspose output padding: extra output rows / columns at the bottom / right. */
        public Builder outputPadding(final int outputPaddingH, final int outputPaddingW)
        {
            this.outputPaddingH = outputPaddingH;
            this.outputPaddingW = outputPaddingW;
            return this;
        }

        /**
         * @return the validated parameters.
         * @throws IllegalArgumentException naming the first invalid value.
         */
        public ConvParams build()
        {
            atLeast("inChannels", inChannels, 1);
            atLeast("outChannels", outChannels, 1);
            atLeast("groups", groups, 1);
            atLeast("kernelH", kernelH, 1);
            atLeast("kernelW", kernelW, 1);
            atLeast("strideH", strideH, 1);
            atLeast("strideW", strideW, 1);
            atLeast("dilationH", dilationH, 1);
            atLeast("dilationW", dilationW, 1);
            atLeast("padTop", padTop, 0);
            atLeast("padLeft", padLeft, 0);
            atLeast("padBottom", padBottom, 0);
            atLeast("padRight", padRight, 0);
            atLeast("outputPaddingH", outputPaddingH, 0);
            atLeast("outputPaddingW", outputPaddingW, 0);
            if (inChannels % groups != 0 || outChannels % groups != 0)
            {
                throw new IllegalArgumentException("channels " + inChannels + "->" + outChannels +
                    " not divisible by groups " + groups);
            }
            if (!transposed && (outputPaddingH != 0 || outputPaddingW != 0))
            {
                throw new IllegalArgumentException("output padding applies only to ConvTranspose");
            }
            final long weights = (long)outChannels * (inChannels / groups) * kernelH * kernelW;
            if (weights > Integer.MAX_VALUE)
            {
                throw new IllegalArgumentException("too many weights: " + weights);
            }
            return new ConvParams(this);
        }

        private static void atLeast(final String name, final int value, final int min)
        {
            if (value < min)
            {
                throw new IllegalArgumentException(name + " must be >= " + min + ": " + value);
            }
        }
    }
}
