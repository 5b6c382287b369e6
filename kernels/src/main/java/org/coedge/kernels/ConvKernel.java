package org.coedge.kernels;

import java.util.Objects;

/**
 * A prepared convolution (or transposed convolution) that computes any range of output rows of an NHWC map from the
 * input rows that range needs. Weights are packed once at construction; {@link #forward} then only reads them.
 * <p>
 * The engine prepares one instance per layer and calls {@link #forward} from several threads at once on disjoint
 * output row ranges, each thread with its own scratch; implementations keep no mutable instance state, only a small
 * heap staging array per thread (allocated on a thread's first call, 16 KiB unless a layer has more channels).
 */
public interface ConvKernel
{
    /** @return the parameters this kernel was prepared for. */
    ConvParams params();

    /**
     * @param inputWidth columns of the input map.
     * @param outputRows most output rows one call computes ({@code h1 - h0}).
     * @return floats of scratch a {@link #forward} call over that input width and at most that many output rows
     * needs, 0 if none. Bounded by a fixed chunk size however many rows, at least one output row's worth.
     * @throws IllegalArgumentException if the width gives no valid output or the row count is negative.
     */
    int scratchFloats(int inputWidth, int outputRows);

    /**
     * @param inputWidth columns of the input map.
     * @return floats of scratch a {@link #forward} call over that input width needs for any row range.
     * @throws IllegalArgumentException if the width gives no valid output.
     */
    default int scratchFloats(final int inputWidth)
    {
        return scratchFloats(inputWidth, Integer.MAX_VALUE);
    }

    /**
     * @return the first input row (clipped to the map) that {@link #forward} reads for output rows {@code [o0, o1)},
     * {@code o0 < o1}: by default the convolution's own halo ({@link ConvParams#firstInputRowClipped}); a kernel that
     * computes whole tiles reads the rows of its tiles.
     */
    default int firstInputRow(final int o0, final int o1, final int inputHeight)
    {
        return params().firstInputRowClipped(o0, o1, inputHeight);
    }

    /** @return one past the last input row (clipped) that {@link #forward} reads for output rows {@code [o0, o1)}. */
    default int endInputRow(final int o0, final int o1, final int inputHeight)
    {
        return params().endInputRowClipped(o0, o1, inputHeight);
    }

    /**
     * Computes output rows {@code [h0, h1)} (full-map coordinates) of {@code out} from {@code in}, adding the bias and
     * applying the fused activation. Writes nothing outside those output rows and the scratch range.
     *
     * @param in            input view holding every input row inside the map that the range needs.
     * @param out           output view holding rows {@code [h0, h1)}.
     * @param h0            first output row.
     * @param h1            one past the last output row; {@code h0 == h1} does nothing.
     * @param scratch       working memory of at least {@code scratchFloats(in.width(), h1 - h0)} floats from
     *                      {@code scratchOffset}; may be {@code null} when that is 0. Its contents before and after
     *                      the call mean nothing; threads calling at once need disjoint scratch ranges.
     * @param scratchOffset first float of the scratch range.
     * @throws IllegalArgumentException if shapes, views, range or scratch do not fit (checked before any write).
     */
    default void forward(
        final MapView in, final MapView out, final int h0, final int h1, final FloatRegion scratch,
        final int scratchOffset)
    {
        forward(in, null, out, h0, h1, scratch, scratchOffset);
    }

    /**
     * @return whether {@link #forward(MapView, MapView, MapView, int, int, FloatRegion, int)} takes a residual: the
     * kernel then adds it in its epilogue, so a following {@code Add} (and its activation) costs no pass of its own.
     */
    default boolean addsResidual()
    {
        return false;
    }

    /**
     * As {@link #forward(MapView, MapView, int, int, FloatRegion, int)}, and adds {@code residual}'s pixels to each
     * output pixel after the bias and before the fused activation: {@code y = f((conv + bias) + residual)}, the
     * {@code Add} a lowering folded into this convolution. The residual is read row for row (output row r reads its
     * row r), in the same chunks as the output while they are in cache.
     *
     * @param residual a map of the output's shape holding rows {@code [h0, h1)}, not overlapping the output rows; or
     *                 {@code null} for none.
     * @throws IllegalArgumentException if the residual does not fit (checked before any write).
     * @throws UnsupportedOperationException if a residual is given and {@link #addsResidual()} is false.
     */
    void forward(MapView in, MapView residual, MapView out, int h0, int h1, FloatRegion scratch, int scratchOffset);

    /**
     * @param inputWidth columns of the input map.
     * @param outputRows output rows of the call that would be split.
     * @param parts      threads that would share it.
     * @return whether {@code parts} threads should split such a call by output channels
     * ({@link #forwardChannels}) rather than by rows: where one thread's share of the rows is so small that reading
     * (and packing) all the weights in every thread costs more than each thread preparing the whole input. False
     * for kernels that cannot compute a window of channels.
     */
    default boolean prefersChannelSplit(final int inputWidth, final int outputRows, final int parts)
    {
        return false;
    }

    /**
     * As {@link #forward(MapView, MapView, MapView, int, int, FloatRegion, int)}, computing only output channels
     * {@code [c0, c1)} of rows {@code [h0, h1)}: threads that split a layer by channels call it at once on disjoint
     * windows of the same rows, each with its own scratch ({@link #scratchFloats} is enough for any window).
     *
     * @throws IllegalArgumentException if the window is not inside the output's channels, or as {@code forward}.
     * @throws UnsupportedOperationException if {@link #prefersChannelSplit} is never true for this kernel.
     */
    default void forwardChannels(final MapView in, final MapView residual, final MapView out, final int h0,
        final int h1, final int c0, final int c1, final FloatRegion scratch, final int scratchOffset)
    {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " computes whole pixels only");
    }

    /**
     * @param channels output channels.
     * @return the first channel of part {@code part} of {@code parts} windows that split {@code channels} as evenly
     * as whole vectors of 16 channels allow ({@code channels} for {@code part == parts}).
     */
    static int windowStart(final int channels, final int part, final int parts)
    {
        if (part >= parts)
        {
            return channels;
        }
        final int blocks = (channels + 15) / 16;
        return Math.min(channels, (int)((long)blocks * part / parts) * 16);
    }

    /** @throws IllegalArgumentException unless {@code 0 <= c0 <= c1 <= channels}. */
    static void checkWindow(final int c0, final int c1, final int channels)
    {
        if (c0 < 0 || c1 < c0 || c1 > channels)
        {
            throw new IllegalArgumentException("channel window [" + c0 + ", " + c1 + ") is not inside the output's " +
                channels + " channels");
        }
    }

    /**
     * Prepares a convolution, choosing the implementation: {@link DepthwiseConv2d} when every channel is its own group,
     * {@link Conv2d} (im2col + sgemm, or one sgemm for pointwise layers) otherwise.
     *
     * @param params     convolution parameters, not transposed.
     * @param weights    ONNX layout {@code [outChannels, inChannels / groups, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [outChannels]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     * @return the prepared kernel.
     * @throws IllegalArgumentException if the parameters are transposed or an array has the wrong length.
     */
    static ConvKernel create(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        return create(params, weights, biasOrNull, fused, RegionAllocator.COLLECTED);
    }

    /**
     * As {@link #create(ConvParams, float[], float[], Activation)}, taking off-heap memory for prepared weights from
     * {@code memory} (the owner of a prepared model's weights).
     */
    static ConvKernel create(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory)
    {
        Objects.requireNonNull(params, "params");
        return params.isDepthwise() ? new DepthwiseConv2d(params, weights, biasOrNull, fused) :
            new Conv2d(params, weights, biasOrNull, fused, memory);
    }

    /**
     * Prepares a transposed convolution.
     *
     * @param params     transposed convolution parameters.
     * @param weights    ONNX layout {@code [inChannels, outChannels / groups, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [outChannels]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     * @return the prepared kernel.
     * @throws IllegalArgumentException if the parameters are not transposed or an array has the wrong length.
     */
    static ConvKernel createTranspose(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        return createTranspose(params, weights, biasOrNull, fused, RegionAllocator.COLLECTED);
    }

    /** As {@link #createTranspose(ConvParams, float[], float[], Activation)}, with memory from {@code memory}. */
    static ConvKernel createTranspose(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory)
    {
        return new ConvTranspose2d(params, weights, biasOrNull, fused, memory);
    }
}
