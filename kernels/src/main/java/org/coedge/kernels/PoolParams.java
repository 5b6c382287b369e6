package org.coedge.kernels;

/**
 * Geometry of a 2-D pooling window as ONNX MaxPool / AveragePool define it: kernel, strides, dilations, explicit
 * (possibly asymmetric) pads, {@code ceil_mode} and {@code count_include_pad}. {@code auto_pad} is resolved into
 * explicit pads by the caller.
 * <p>
 * Besides the output size it answers the halo question as pure functions: which input rows output rows
 * {@code [o0, o1)} read. The planner and the engine use them to size each device's input window.
 * <p>
 * Immutable; shared across threads.
 */
public final class PoolParams
{
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
    private final boolean ceilMode;
    private final boolean countIncludePad;

    /**
     * @param kernelH         window height, at least 1.
     * @param kernelW         window width, at least 1.
     * @param strideH         at least 1.
     * @param strideW         at least 1.
     * @param dilationH       at least 1 (ONNX: MaxPool, and AveragePool from opset 19).
     * @param dilationW       at least 1.
     * @param padTop          rows of padding above the map, at least 0.
     * @param padLeft         columns of padding left of the map, at least 0.
     * @param padBottom       rows of padding below the map, at least 0.
     * @param padRight        columns of padding right of the map, at least 0.
     * @param ceilMode        round the output size up (ONNX {@code ceil_mode = 1}).
     * @param countIncludePad average pooling divides by the window taps inside the padded map, not only those inside
     *                        the map (ONNX {@code count_include_pad = 1}); ignored by max pooling.
     */
    public PoolParams(
        final int kernelH, final int kernelW,
        final int strideH, final int strideW,
        final int dilationH, final int dilationW,
        final int padTop, final int padLeft, final int padBottom, final int padRight,
        final boolean ceilMode, final boolean countIncludePad)
    {
        if (kernelH < 1 || kernelW < 1 || strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
        {
            throw new IllegalArgumentException("pool kernel " + kernelH + "x" + kernelW + ", stride " + strideH + "x" +
                strideW + ", dilation " + dilationH + "x" + dilationW + ": each must be >= 1");
        }
        if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0)
        {
            throw new IllegalArgumentException(
                "pool pads must be >= 0: " + padTop + ", " + padLeft + ", " + padBottom + ", " + padRight);
        }
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.strideH = strideH;
        this.strideW = strideW;
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        this.padTop = padTop;
        this.padLeft = padLeft;
        this.padBottom = padBottom;
        this.padRight = padRight;
        this.ceilMode = ceilMode;
        this.countIncludePad = countIncludePad;
    }

    /** A square {@code kernel x kernel} window with stride {@code stride}, no padding, no dilation, floor mode. */
    public static PoolParams of(final int kernel, final int stride)
    {
        return new PoolParams(kernel, kernel, stride, stride, 1, 1, 0, 0, 0, 0, false, false);
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

    public boolean ceilMode()
    {
        return ceilMode;
    }

    public boolean countIncludePad()
    {
        return countIncludePad;
    }

    /**
     * @return output rows for {@code inputHeight} input rows.
     * @throws IllegalArgumentException if the window does not fit in the padded input.
     */
    public int outputHeight(final int inputHeight)
    {
        return outputSize("height", inputHeight, kernelH, strideH, dilationH, padTop, padBottom, ceilMode);
    }

    /**
     * @return output columns for {@code inputWidth} input columns.
     * @throws IllegalArgumentException if the window does not fit in the padded input.
     */
    public int outputWidth(final int inputWidth)
    {
        return outputSize("width", inputWidth, kernelW, strideW, dilationW, padLeft, padRight, ceilMode);
    }

    /** @return the first input row read by output row {@code o0}, unclipped (negative inside the top padding). */
    public int firstInputRow(final int o0)
    {
        return o0 * strideH - padTop;
    }

    /** @return one past the last input row read by output rows {@code [o0, o1)}, {@code o1 > o0}, unclipped. */
    public int endInputRow(final int o1)
    {
        return (o1 - 1) * strideH - padTop + (kernelH - 1) * dilationH + 1;
    }

    /**
     * @return the first input row in {@code [0, inputHeight)} that output rows {@code [o0, o1)} read; equals
     * {@link #endInputRowClipped(int, int, int)} when they read only padding.
     */
    public int firstInputRowClipped(final int o0, final int o1, final int inputHeight)
    {
        return Math.min(clamp(firstInputRow(o0), inputHeight), clamp(endInputRow(o1), inputHeight));
    }

    /** @return one past the last input row in {@code [0, inputHeight)} that output rows {@code [o0, o1)} read. */
    public int endInputRowClipped(final int o0, final int o1, final int inputHeight)
    {
        return Math.max(clamp(firstInputRow(o0), inputHeight), clamp(endInputRow(o1), inputHeight));
    }

    private static int clamp(final int row, final int inputHeight)
    {
        return Math.max(0, Math.min(row, inputHeight));
    }

    /**
     * ONNX output size; in ceil mode the last window must start inside the input or the leading padding, so a window
     * that would start in the trailing padding is dropped.
     */
    private static int outputSize(
        final String dim, final int input, final int kernel, final int stride, final int dilation,
        final int padBegin, final int padEnd, final boolean ceil)
    {
        if (input < 1)
        {
            throw new IllegalArgumentException("pool input " + dim + " must be >= 1: " + input);
        }
        final long span = (long)(kernel - 1) * dilation + 1;
        final long room = (long)input + padBegin + padEnd - span;
        if (room < 0)
        {
            throw new IllegalArgumentException("pool window of " + span + " does not fit input " + dim + " " + input +
                " with pads " + padBegin + "+" + padEnd);
        }
        long size = (ceil ? -Math.floorDiv(-room, (long)stride) : room / stride) + 1;
        if (ceil && (size - 1) * stride >= (long)input + padBegin)
        {
            size--;
        }
        if (size > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("pool output " + dim + " too large: " + size);
        }
        return (int)size;
    }

    @Override
    public String toString()
    {
        return "PoolParams{kernel " + kernelH + "x" + kernelW + ", stride " + strideH + "x" + strideW +
            ", dilation " + dilationH + "x" + dilationW + ", pads " + padTop + "," + padLeft + "," + padBottom + "," +
            padRight + (ceilMode ? ", ceil" : "") + (countIncludePad ? ", count_include_pad" : "") + "}";
    }
}
