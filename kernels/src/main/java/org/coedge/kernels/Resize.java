package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX Resize over height and width of an NHWC map, modes nearest and linear (bilinear), with the coordinate
 * transformations half_pixel, pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nearest, and the
 * nearest rounding modes. Upsample (opset 9) is Resize nearest or linear with asymmetric coordinates.
 * <p>
 * Coordinates are computed in float with the same formulas as ONNX Runtime, so ties in nearest rounding fall the same
 * way; when scales are given they drive the transformation, otherwise the scale is output size / input size. Every
 * output row's and column's source indices and weights are computed once at construction; they also answer which
 * input rows a range of output rows reads ({@link #firstInputRow}, {@link #endInputRow}), which is what the halo of a
 * row slice is.
 * <p>
 * Immutable; the engine calls one instance from several threads at once on disjoint output row ranges. The output
 * must not overlap the input.
 */
public final class Resize
{
    /** Interpolation. */
    public enum Mode
    {
        NEAREST,
        LINEAR
    }

    /** ONNX {@code coordinate_transformation_mode}: output coordinate to input coordinate. */
    public enum CoordinateMode
    {
        /** {@code (x + 0.5) / scale - 0.5}. */
        HALF_PIXEL,
        /** As half_pixel, but 0 when the output length is 1. */
        PYTORCH_HALF_PIXEL,
        /** {@code x * (inLength - 1) / (outLength - 1)}, 0 when the output length is 1. */
        ALIGN_CORNERS,
        /** {@code x / scale}. */
        ASYMMETRIC,
        /** {@code (x + 0.5) / scale}. */
        TF_HALF_PIXEL_FOR_NEAREST
    }

    /** ONNX {@code nearest_mode}: input coordinate to input index in nearest mode. */
    public enum NearestMode
    {
        /** Round, halves down (ONNX default). */
        ROUND_PREFER_FLOOR,
        /** Round, halves up. */
        ROUND_PREFER_CEIL,
        FLOOR,
        CEIL
    }

    private final Mode mode;
    private final CoordinateMode coordinateMode;
    private final NearestMode nearestMode;
    private final int inputHeight;
    private final int inputWidth;
    private final int outputHeight;
    private final int outputWidth;
    private final float scaleH;
    private final float scaleW;
    private final int[] rowLow; // (outputHeight): first source row; the only one in nearest mode
    private final int[] rowHigh; // (outputHeight): second source row in linear mode
    private final float[] rowFraction; // (outputHeight): weight of rowHigh
    private final int[] colLow; // (outputWidth)
    private final int[] colHigh; // (outputWidth)
    private final float[] colFraction; // (outputWidth)

    /**
     * @param scaleH the height scale used in the coordinate transformation ({@code outputHeight / inputHeight} when
     *               the model gives sizes only).
     * @param scaleW likewise for width.
     */
    public Resize(
        final Mode mode, final CoordinateMode coordinateMode, final NearestMode nearestMode,
        final int inputHeight, final int inputWidth, final int outputHeight, final int outputWidth,
        final float scaleH, final float scaleW)
    {
        if (mode == null || coordinateMode == null || nearestMode == null)
        {
            throw new IllegalArgumentException("Resize mode, coordinate mode and nearest mode are required");
        }
        if (inputHeight < 1 || inputWidth < 1 || outputHeight < 1 || outputWidth < 1)
        {
            throw new IllegalArgumentException("Resize: bad sizes " + inputHeight + "x" + inputWidth + " -> " +
                outputHeight + "x" + outputWidth);
        }
        if (!(scaleH > 0f) || !(scaleW > 0f) || Float.isInfinite(scaleH) || Float.isInfinite(scaleW))
        {
            throw new IllegalArgumentException("Resize: scales must be positive and finite: " + scaleH + ", " + scaleW);
        }
        this.mode = mode;
        this.coordinateMode = coordinateMode;
        this.nearestMode = nearestMode;
        this.inputHeight = inputHeight;
        this.inputWidth = inputWidth;
        this.outputHeight = outputHeight;
        this.outputWidth = outputWidth;
        this.scaleH = scaleH;
        this.scaleW = scaleW;
        this.rowLow = new int[outputHeight];
        this.rowHigh = new int[outputHeight];
        this.rowFraction = new float[outputHeight];
        this.colLow = new int[outputWidth];
        this.colHigh = new int[outputWidth];
        this.colFraction = new float[outputWidth];
        sources(scaleH, inputHeight, outputHeight, rowLow, rowHigh, rowFraction);
        sources(scaleW, inputWidth, outputWidth, colLow, colHigh, colFraction);
    }

    /** Resize to given output sizes; the scales are output / input. */
    public static Resize toSize(
        final Mode mode, final CoordinateMode coordinateMode, final NearestMode nearestMode,
        final int inputHeight, final int inputWidth, final int outputHeight, final int outputWidth)
    {
        return new Resize(mode, coordinateMode, nearestMode, inputHeight, inputWidth, outputHeight, outputWidth,
            (float)outputHeight / inputHeight, (float)outputWidth / inputWidth);
    }

    /** Resize by given scales; each output size is {@code floor(input * scale)} (in float, as ONNX Runtime). */
    public static Resize byScale(
        final Mode mode, final CoordinateMode coordinateMode, final NearestMode nearestMode,
        final int inputHeight, final int inputWidth, final float scaleH, final float scaleW)
    {
        return new Resize(mode, coordinateMode, nearestMode, inputHeight, inputWidth,
            (int)(scaleH * inputHeight), (int)(scaleW * inputWidth), scaleH, scaleW);
    }

    public Mode mode()
    {
        return mode;
    }

    public CoordinateMode coordinateMode()
    {
        return coordinateMode;
    }

    public NearestMode nearestMode()
    {
        return nearestMode;
    }

    public int inputHeight()
    {
        return inputHeight;
    }

    public int inputWidth()
    {
        return inputWidth;
    }

    public int outputHeight()
    {
        return outputHeight;
    }

    public int outputWidth()
    {
        return outputWidth;
    }

    public float scaleH()
    {
        return scaleH;
    }

    public float scaleW()
    {
        return scaleW;
    }

    /** @return the first input row read by output rows {@code [o0, o1)}, {@code 0 <= o0 < o1 <= outputHeight}. */
    public int firstInputRow(final int o0, final int o1)
    {
        checkRange(o0, o1);
        int first = inputHeight;
        for (int o = o0; o < o1; o++)
        {
            first = Math.min(first, rowLow[o]);
        }
        return first;
    }

    /** @return one past the last input row read by output rows {@code [o0, o1)}. */
    public int endInputRow(final int o0, final int o1)
    {
        checkRange(o0, o1);
        int last = -1;
        for (int o = o0; o < o1; o++)
        {
            last = Math.max(last, mode == Mode.NEAREST ? rowLow[o] : rowHigh[o]);
        }
        return last + 1;
    }

    /**
     * Computes output rows {@code [h0, h1)}.
     *
     * @param in  {@code inputHeight x inputWidth x C}, holding rows {@code [firstInputRow(h0, h1),
     *            endInputRow(h0, h1))}.
     * @param out {@code outputHeight x outputWidth x C}, holding rows {@code [h0, h1)}.
     * @throws IllegalArgumentException if a shape does not match, a row is not held, or the views overlap.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        OpsChecks.checkShape("Resize", "input", in, inputHeight, inputWidth, in.channels());
        OpsChecks.checkShape("Resize", "output", out, outputHeight, outputWidth, in.channels());
        OpsChecks.checkOutputRows("Resize", out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows("Resize", "input", in, firstInputRow(h0, h1), endInputRow(h0, h1));
        OpsChecks.checkDisjoint("Resize", in, out);

        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final int channels = in.channels();
        for (int oh = h0; oh < h1; oh++)
        {
            final int lowRow = in.rowOffset(rowLow[oh]);
            final int o = out.rowOffset(oh);
            if (mode == Mode.NEAREST)
            {
                for (int ow = 0; ow < outputWidth; ow++)
                {
                    dst.put(o + ow * channels, src, lowRow + colLow[ow] * channels, channels);
                }
                continue;
            }
            final int highRow = in.rowOffset(rowHigh[oh]);
            final float fy = rowFraction[oh];
            for (int ow = 0; ow < outputWidth; ow++)
            {
                final float fx = colFraction[ow];
                final float w00 = (1f - fy) * (1f - fx);
                final float w01 = (1f - fy) * fx;
                final float w10 = fy * (1f - fx);
                final float w11 = fy * fx;
                final int x0 = colLow[ow] * channels;
                final int x1 = colHigh[ow] * channels;
                final int d = o + ow * channels;
                for (int c = 0; c < channels; c++)
                {
                    dst.put(d + c, w00 * src.get(lowRow + x0 + c) + w01 * src.get(lowRow + x1 + c) +
                        w10 * src.get(highRow + x0 + c) + w11 * src.get(highRow + x1 + c));
                }
            }
        }
    }

    /**
     * The input coordinate of output index {@code x} under ONNX {@code coordinate_transformation_mode}, in float.
     */
    public static float originalCoordinate(
        final CoordinateMode coordinateMode, final int x, final float scale, final int outputLength,
        final int inputLength)
    {
        switch (coordinateMode)
        {
            case HALF_PIXEL:
                return (x + 0.5f) / scale - 0.5f;
            case PYTORCH_HALF_PIXEL:
                return outputLength > 1 ? (x + 0.5f) / scale - 0.5f : 0f;
            case ALIGN_CORNERS:
                return outputLength == 1 ? 0f : x * (float)(inputLength - 1) / (float)(outputLength - 1);
            case ASYMMETRIC:
                return x / scale;
            case TF_HALF_PIXEL_FOR_NEAREST:
                return (x + 0.5f) / scale;
            default:
                throw new IllegalStateException("unknown coordinate mode " + coordinateMode);
        }
    }

    /** The input index ONNX nearest mode picks for input coordinate {@code x}, clamped to the input. */
    public static int nearestIndex(final NearestMode nearestMode, final float x, final int inputLength)
    {
        final double index;
        switch (nearestMode)
        {
            case ROUND_PREFER_FLOOR:
                index = x == (long)x + 0.5f ? Math.floor(x) : roundHalfAway(x);
                break;
            case ROUND_PREFER_CEIL:
                index = roundHalfAway(x);
                break;
            case FLOOR:
                index = Math.floor(x);
                break;
            case CEIL:
                index = Math.ceil(x);
                break;
            default:
                throw new IllegalStateException("unknown nearest mode " + nearestMode);
        }
        return (int)Math.max(0, Math.min(index, inputLength - 1));
    }

    private static double roundHalfAway(final float x)
    {
        return Math.copySign(Math.floor(Math.abs(x) + 0.5), x);
    }

    private void sources(
        final float scale, final int inputLength, final int outputLength,
        final int[] low, final int[] high, final float[] fraction)
    {
        for (int o = 0; o < outputLength; o++)
        {
            final float x = originalCoordinate(coordinateMode, o, scale, outputLength, inputLength);
            if (mode == Mode.NEAREST)
            {
                low[o] = nearestIndex(nearestMode, x, inputLength);
                high[o] = low[o];
                continue;
            }
            final float clamped = Math.max(0f, Math.min(x, inputLength - 1));
            final int i0 = (int)clamped;
            final float f = clamped - i0;
            low[o] = i0;
            // A zero weight must not make a row "needed": that would widen every slice's halo for nothing.
            high[o] = f == 0f ? i0 : Math.min(i0 + 1, inputLength - 1);
            fraction[o] = f;
        }
    }

    private void checkRange(final int o0, final int o1)
    {
        if (o0 < 0 || o1 <= o0 || o1 > outputHeight)
        {
            throw new IllegalArgumentException(
                "Resize: output rows [" + o0 + ", " + o1 + ") not a non-empty range of " + outputHeight);
        }
    }

    @Override
    public String toString()
    {
        return "Resize{" + mode + ", " + coordinateMode + (mode == Mode.NEAREST ? ", " + nearestMode : "") + ", " +
            inputHeight + "x" + inputWidth + " -> " + outputHeight + "x" + outputWidth + "}";
    }
}
