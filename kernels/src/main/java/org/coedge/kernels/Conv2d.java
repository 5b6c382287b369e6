package org.coedge.kernels;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * General 2-D convolution over NHWC maps by im2col and {@link Blas#sgemm}, for any groups, strides, dilations and
 * pads. Owns its packed weights: per group g a row-major {@code [Cout_g, K = kernelH * kernelW * Cin_g]} matrix, used
 * transposed ({@code C = A x W_g^T}); OpenBLAS runs that as fast as the plain product (measured), and the same
 * packing serves the flipped product below.
 * <p>
 * When a chunk has few output pixels (at most {@link #FLIP_MAX_PIXELS}: the deep 7x7 layers, and any small row slice
 * of a split map) OpenBLAS is much faster on the flipped product {@code C^T = W_g x A^T} (measured 59 -> 81 GFLOP/s at
 * M = 49, N = 512, K = 4608), so the kernel computes that into scratch and transposes it into the output.
 * <p>
 * In NHWC the output of a chunk of output rows is a row-major {@code [rows * outW, Cout]} matrix, so each group's
 * product {@code im2col[rows * outW, K] x W_g[K, Cout_g]} is written straight into the output view (leading dimension
 * Cout, column offset {@code g * Cout_g}). The im2col matrix lives in the caller's scratch, one chunk of output rows at
 * a time so it stays bounded; bias and activation are applied to each chunk right after its product, while it is
 * still in cache. Pointwise layers (1x1, stride 1, no pads) skip im2col: the input rows are already the left matrix.
 * sgemm runs with beta 0, which makes OpenBLAS overwrite the output without reading it, so stale values (even NaN)
 * in the output rows cannot leak into results.
 * <p>
 * A row range computes every pixel from the same input taps and weights as the whole map, but the product that
 * holds the pixel depends on where the range starts and how many rows it has, and BLAS kernels round differently in
 * different products (edge micro-tiles, small-matrix paths, another core type's accumulation order). So a sliced
 * pixel agrees with the whole map's within the dot product's rounding bound, {@code 2 * gamma(K) * sum |a * w|}
 * with {@code gamma(K) = K u / (1 - K u)}, not bit for bit; that bound holds for every correct float GEMM.
 * <p>
 * Immutable after construction; {@link #forward} may run on several threads at once given distinct scratch (the
 * epilogue's staging array is per thread).
 */
public final class Conv2d implements ConvKernel
{
    /** Default bound on the im2col chunk: 2 MiB, unless that holds fewer than {@link #MIN_CHUNK_PIXELS} pixels. */
    static final int DEFAULT_SCRATCH_TARGET_FLOATS = 512 * 1024;

    /**
     * Least output pixels (GEMM rows) per im2col chunk under the default bound: sgemm on 112-row chunks of a K = 4608
     * layer ran at 72 GFLOP/s against 96 for the whole 784 rows (measured), so deep layers get bigger chunks.
     */
    static final int MIN_CHUNK_PIXELS = 256;

    /** Pointwise layers chunk rows only so that the epilogue finds its rows in cache: 1 MiB of output. */
    private static final int EPILOGUE_TARGET_FLOATS = 256 * 1024;

    /** Chunks of at most this many output pixels use the flipped product. */
    static final int FLIP_MAX_PIXELS = 128;

    /** Layers with fewer input channels per group build their im2col rows on heap ({@link Im2col}). */
    static final int STAGED_IM2COL_MAX_CHANNELS = Im2col.STAGED_MAX_CHANNELS;

    private static final ThreadLocal<float[]> TRANSPOSE_STAGING = ThreadLocal.withInitial(() -> new float[0]);

    /** Never written: the source of bulk zero fills (padding taps, transposed outputs). */
    private static final FloatRegion ZEROS = FloatRegion.allocate(1024);

    private final ConvParams params;
    private final int scratchTargetFloats;
    private final int minChunkPixels;
    private final int inChannelsPerGroup;
    private final int outChannelsPerGroup;
    private final int gemmK;
    private final boolean pointwise;
    private final Im2col im2col;
    private final FloatRegion packedWeights; // (groups, Cout_g, K)
    private final Epilogue epilogue;

    /**
     * Packs the weights for im2col + sgemm.
     *
     * @param params     convolution parameters, not transposed.
     * @param weights    ONNX layout {@code [outChannels, inChannels / groups, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [outChannels]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     */
    public Conv2d(final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        this(params, weights, biasOrNull, fused, RegionAllocator.COLLECTED);
    }

    /**
     * As {@link #Conv2d(ConvParams, float[], float[], Activation)}, packing into memory from {@code memory} (the
     * owner of a prepared model's weights, which frees them when the model is closed).
     */
    public Conv2d(final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final RegionAllocator memory)
    {
        this(params, weights, biasOrNull, fused, DEFAULT_SCRATCH_TARGET_FLOATS, MIN_CHUNK_PIXELS, memory);
    }

    /** As {@link #Conv2d(ConvParams, float[], float[], Activation)} with a chosen im2col chunk bound (tests). */
    Conv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final int scratchTargetFloats)
    {
        this(params, weights, biasOrNull, fused, scratchTargetFloats, 1, RegionAllocator.COLLECTED);
    }

    private Conv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final int scratchTargetFloats, final int minChunkPixels, final RegionAllocator memory)
    {
        checkPrepare(params, false, weights, biasOrNull, fused);
        this.params = params;
        this.scratchTargetFloats = scratchTargetFloats;
        this.minChunkPixels = minChunkPixels;
        this.inChannelsPerGroup = params.inChannelsPerGroup();
        this.outChannelsPerGroup = params.outChannelsPerGroup();
        this.gemmK = params.kernelH() * params.kernelW() * inChannelsPerGroup;
        this.pointwise = params.isPointwise();
        this.im2col = new Im2col(params);
        this.epilogue = new Epilogue(biasOrNull, params.outChannels(), fused);
        this.packedWeights = pack(params, weights, memory);
    }

    @Override
    public ConvParams params()
    {
        return params;
    }

    @Override
    public int scratchFloats(final int inputWidth, final int outputRows)
    {
        checkRowCount(outputRows);
        if (outputRows == 0)
        {
            return 0;
        }
        final int outW = params.outputWidth(inputWidth);
        final int flipFloats = (int)Math.min(FLIP_MAX_PIXELS, (long)rowsPerChunk(outW, outputRows) * outW) *
            outChannelsPerGroup;
        return im2colFloats(inputWidth, outputRows) + flipFloats;
    }

    @Override
    public boolean addsResidual()
    {
        return true;
    }

    @Override
    public void forward(
        final MapView in, final MapView residual, final MapView out, final int h0, final int h1,
        final FloatRegion scratch, final int scratchOffset)
    {
        forwardWindow(in, residual, out, h0, h1, 0, params.outChannels(), scratch, scratchOffset);
    }

    /**
     * Splits by channels where one part's pixels would be fewer than the layer's output channels (its weights): a
     * GEMM of so few rows runs far from its peak in every thread, and packs the whole weight matrix in each (measured,
     * two threads on ResNet-18's 7x7x512 layers: 1.64x one thread by channels against 1.42x by rows).
     */
    @Override
    public boolean prefersChannelSplit(final int inputWidth, final int outputRows, final int parts)
    {
        final long pixels = (long)params.outputWidth(inputWidth) * outputRows;
        return params.groups() == 1 && parts > 1 && pixels < params.outChannels() &&
            params.outChannels() / parts >= 32;
    }

    @Override
    public void forwardChannels(final MapView in, final MapView residual, final MapView out, final int h0,
        final int h1, final int c0, final int c1, final FloatRegion scratch, final int scratchOffset)
    {
        if (params.groups() != 1 && (c0 != 0 || c1 != params.outChannels()))
        {
            throw new IllegalArgumentException("a window of channels needs one group: " + params);
        }
        forwardWindow(in, residual, out, h0, h1, c0, c1, scratch, scratchOffset);
    }

    /** Output channels {@code [c0, c1)} of rows {@code [h0, h1)}; all of them for several groups. */
    private void forwardWindow(final MapView in, final MapView residual, final MapView out, final int h0,
        final int h1, final int c0, final int c1, final FloatRegion scratch, final int scratchOffset)
    {
        params.checkCall(in, out, h0, h1);
        ConvKernel.checkWindow(c0, c1, params.outChannels());
        if (residual != null)
        {
            ConvParams.checkResidual(residual, out, h0, h1);
        }
        if (h0 == h1 || c0 == c1)
        {
            return;
        }
        final int needed = scratchFloats(in.width(), h1 - h0);
        checkScratch(needed, scratch, scratchOffset);
        // The flipped product's room follows the im2col chunk.
        final int im2colFloats = im2colFloats(in.width(), h1 - h0);
        final int flipOffset = scratchOffset + im2colFloats;
        final int flipRoom = needed - im2colFloats;
        if (pointwise)
        {
            forwardPointwise(in, residual, out, h0, h1, c0, c1, scratch, flipOffset, flipRoom);
        }
        else
        {
            forwardIm2col(in, residual, out, h0, h1, c0, c1, scratch, scratchOffset, flipOffset, flipRoom);
        }
    }

    private int im2colFloats(final int inputWidth, final int outputRows)
    {
        final int outW = params.outputWidth(inputWidth);
        return pointwise ? 0 : rowsPerChunk(outW, outputRows) * outW * gemmK;
    }

    /** @return output rows one product covers: the whole range for pointwise layers, else an im2col chunk. */
    private int rowsPerChunk(final int outW, final int outputRows)
    {
        return pointwise ? outputRows : Math.min(chunkRows(outW), outputRows);
    }

    /**
     * {@code C[m, Cout_g] = A[m, K] x W_g^T} for group {@code g}, into output columns {@code g * Cout_g} with row
     * stride {@code cout}: flipped through scratch when {@code m} is small and the scratch has room. With one group,
     * only output columns {@code [c0, c1)}.
     */
    private void product(
        final int m, final int g, final int c0, final int c1, final FloatRegion a, final int aOffset, final int lda,
        final FloatRegion c, final int cOffset, final int cout,
        final FloatRegion scratch, final int flipOffset, final int flipRoom)
    {
        final int k = gemmK;
        final int n = params.groups() == 1 ? c1 - c0 : outChannelsPerGroup;
        final int column = params.groups() == 1 ? c0 : g * outChannelsPerGroup;
        final int wOffset = column * k;
        if (m <= FLIP_MAX_PIXELS && (long)m * n <= flipRoom)
        {
            Blas.sgemm(false, true, n, m, k, 1f, packedWeights, wOffset, k, a, aOffset, lda, 0f, scratch, flipOffset,
                m);
            transposeInto(scratch, flipOffset, n, m, m, c, cOffset + column, cout);
        }
        else
        {
            Blas.sgemm(false, true, m, n, k, 1f, a, aOffset, lda, packedWeights, wOffset, k, 0f, c, cOffset + column,
                cout);
        }
    }

    /** The epilogue over {@code pixels} pixels from {@code offset}: whole pixels, or the window {@code [c0, c1)}. */
    private void finish(final FloatRegion region, final int offset, final int pixels, final int c0, final int c1,
        final MapView residual, final int firstRow)
    {
        final int cout = params.outChannels();
        if (c0 == 0 && c1 == cout)
        {
            epilogue.apply(region, offset, pixels * cout, residual, firstRow);
        }
        else
        {
            epilogue.applyWindow(region, offset, pixels, cout, c0, c1, residual, firstRow);
        }
    }

    /**
     * Writes {@code src[rows, cols]} (row stride {@code lds}) transposed: column j of src becomes row j of dst (row
     * stride {@code ldd}).
     */
    private static void transposeInto(
        final FloatRegion src, final int srcOffset, final int rows, final int cols, final int lds,
        final FloatRegion dst, final int dstOffset, final int ldd)
    {
        src.checkRange(srcOffset, (long)(rows - 1) * lds + cols);
        dst.checkRange(dstOffset, (long)(cols - 1) * ldd + rows);
        final int total = rows * cols;
        float[] staging = TRANSPOSE_STAGING.get();
        if (staging.length < total + rows)
        {
            staging = new float[total + rows];
            TRANSPOSE_STAGING.set(staging);
        }
        final FloatBuffer from = src.floats();
        for (int i = 0; i < rows; i++)
        {
            from.get(srcOffset + i * lds, staging, i * cols, cols);
        }
        final FloatBuffer d = dst.floats();
        for (int j = 0; j < cols; j++)
        {
            for (int i = 0; i < rows; i++)
            {
                staging[total + i] = staging[i * cols + j];
            }
            d.put(dstOffset + j * ldd, staging, total, rows);
        }
    }

    private void forwardPointwise(
        final MapView in, final MapView residual, final MapView out, final int h0, final int h1, final int c0,
        final int c1, final FloatRegion scratch, final int flipOffset, final int flipRoom)
    {
        final int width = out.width();
        final int cin = params.inChannels();
        final int cout = params.outChannels();
        final int chunkRows = epilogue.isIdentity() && residual == null ? h1 - h0 :
            Math.max(1, EPILOGUE_TARGET_FLOATS / (width * cout));
        for (int r0 = h0; r0 < h1; r0 += chunkRows)
        {
            final int r1 = Math.min(h1, r0 + chunkRows);
            final int m = (r1 - r0) * width;
            final int aOffset = in.rowOffset(r0);
            final int cOffset = out.rowOffset(r0);
            for (int g = 0; g < params.groups(); g++)
            {
                product(m, g, c0, c1, in.region(), aOffset + g * inChannelsPerGroup, cin, out.region(), cOffset,
                    cout, scratch, flipOffset, flipRoom);
            }
            finish(out.region(), cOffset, m, c0, c1, residual, r0);
        }
    }

    private void forwardIm2col(
        final MapView in, final MapView residual, final MapView out, final int h0, final int h1, final int c0,
        final int c1, final FloatRegion scratch, final int scratchOffset, final int flipOffset, final int flipRoom)
    {
        final int outW = out.width();
        final int cout = params.outChannels();
        final int chunkRows = chunkRows(outW);
        for (int r0 = h0; r0 < h1; r0 += chunkRows)
        {
            final int r1 = Math.min(h1, r0 + chunkRows);
            final int m = (r1 - r0) * outW;
            final int cOffset = out.rowOffset(r0);
            for (int g = 0; g < params.groups(); g++)
            {
                im2col.write(in, outW, r0, r1, g, scratch.floats(), scratchOffset);
                product(m, g, c0, c1, scratch, scratchOffset, gemmK, out.region(), cOffset, cout, scratch,
                    flipOffset, flipRoom);
            }
            finish(out.region(), cOffset, m, c0, c1, residual, r0);
        }
    }

    private int chunkRows(final int outW)
    {
        return Math.max(Math.max(1, scratchTargetFloats / (outW * gemmK)), (minChunkPixels + outW - 1) / outW);
    }

    private static FloatRegion pack(final ConvParams params, final float[] weights, final RegionAllocator memory)
    {
        final int cinG = params.inChannelsPerGroup();
        final int coutG = params.outChannelsPerGroup();
        final int taps = params.kernelH() * params.kernelW();
        final int k = taps * cinG;
        final FloatRegion packed = memory.allocate(weights.length);
        final FloatBuffer f = packed.floats();
        for (int co = 0; co < params.outChannels(); co++)
        {
            final int g = co / coutG;
            final int coInGroup = co % coutG;
            for (int ci = 0; ci < cinG; ci++)
            {
                for (int t = 0; t < taps; t++)
                {
                    final int column = t * cinG + ci;
                    f.put((g * coutG + coInGroup) * k + column, weights[(co * cinG + ci) * taps + t]);
                }
            }
        }
        return packed;
    }

    /**
     * Checks what every convolution kernel needs at preparation.
     *
     * @throws IllegalArgumentException if the kind of parameters or an array length is wrong.
     */
    static void checkPrepare(
        final ConvParams params, final boolean transposed, final float[] weights, final float[] biasOrNull,
        final Activation fused)
    {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(fused, "fused activation (use Activation.NONE)");
        if (params.transposed() != transposed)
        {
            throw new IllegalArgumentException(params + (transposed ? " is not a ConvTranspose" : " is a " +
                "ConvTranspose: use ConvKernel.createTranspose"));
        }
        final long expected = (long)(transposed ? params.inChannels() : params.outChannels()) *
            (transposed ? params.outChannelsPerGroup() : params.inChannelsPerGroup()) *
            params.kernelH() * params.kernelW();
        if (weights.length != expected)
        {
            throw new IllegalArgumentException("weights have " + weights.length + " floats, " + params +
                " needs " + expected);
        }
        if (biasOrNull != null && biasOrNull.length != params.outChannels())
        {
            throw new IllegalArgumentException("bias has " + biasOrNull.length + " floats, " + params + " needs " +
                params.outChannels());
        }
    }

    static void checkRowCount(final int outputRows)
    {
        if (outputRows < 0)
        {
            throw new IllegalArgumentException("output row count must be >= 0: " + outputRows);
        }
    }

    /**
     * Checks that a call's scratch range holds {@code needed} floats.
     *
     * @throws IllegalArgumentException if it does not.
     */
    static void checkScratch(final int needed, final FloatRegion scratch, final int scratchOffset)
    {
        if (needed == 0)
        {
            return;
        }
        if (scratch == null || scratchOffset < 0 || (long)scratchOffset + needed > scratch.length())
        {
            throw new IllegalArgumentException("scratch needs " + needed + " floats at offset " + scratchOffset +
                ", region has " + (scratch == null ? "none" : scratch.length() + " floats"));
        }
    }

    /** Sets floats {@code [index, index + length)} of {@code dst} to zero by bulk copies. */
    static void zero(final FloatBuffer dst, final int index, final int length)
    {
        final FloatBuffer zeros = ZEROS.floats();
        for (int done = 0; done < length; done += zeros.capacity())
        {
            dst.put(index + done, zeros, 0, Math.min(zeros.capacity(), length - done));
        }
    }
}
