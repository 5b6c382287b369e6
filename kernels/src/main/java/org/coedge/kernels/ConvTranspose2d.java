package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * 2-D transposed convolution (ONNX ConvTranspose) over NHWC maps by sgemm and col2im, for any groups, strides,
 * dilations, pads and output padding. Owns its packed weights: per group g a row-major
 * {@code [Cin_g, kernelH * kernelW * Cout_g]} matrix.
 * <p>
 * Every input pixel scatters {@code x[Cin_g] x W_g} (one row of the product, ordered kernel row, kernel column,
 * output channel) onto a kernelH x kernelW window of the output. For output rows {@code [h0, h1)} the kernel multiplies
 * only the input rows that contribute to them, a bounded chunk of rows at a time into the caller's scratch, and adds
 * into the output only the products that land inside {@code [h0, h1)}; rows start at zero, and bias and activation run
 * once all contributions are in.
 * <p>
 * When the windows do not overlap (stride equal to the kernel, no dilation, pads or output padding, one group: the
 * 2x2 stride-2 upsampling of segmentation and text-detection heads) output row {@code oh} is input row
 * {@code oh / kernelH} times the weight columns of kernel row {@code oh % kernelH}, already in NHWC order, so each
 * output row is one sgemm written straight into the output, followed by the epilogue while the row is in cache: no
 * zero pass, no scatter and no scratch (the scatter's scalar loop over direct buffers took most of a 24 -> 1 channel
 * 2x2 layer's time).
 * <p>
 * Immutable after construction; {@link #forward} may run on several threads at once given distinct scratch.
 */
public final class ConvTranspose2d implements ConvKernel
{
    private final ConvParams params;
    private final int scratchTargetFloats;
    private final int inChannelsPerGroup;
    private final int outChannelsPerGroup;
    private final int productColumns;
    private final FloatRegion packedWeights; // (groups, Cin_g, kernelH * kernelW * Cout_g)
    private final Epilogue epilogue;
    private final boolean disjointWindows;

    /**
     * Packs the weights for sgemm.
     *
     * @param params     transposed convolution parameters.
     * @param weights    ONNX layout {@code [inChannels, outChannels / groups, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [outChannels]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     */
    public ConvTranspose2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        this(params, weights, biasOrNull, fused, Conv2d.DEFAULT_SCRATCH_TARGET_FLOATS, RegionAllocator.COLLECTED);
    }

    /**
     * As {@link #ConvTranspose2d(ConvParams, float[], float[], Activation)}, packing into memory from
     * {@code memory} (the owner of a prepared model's weights).
     */
    public ConvTranspose2d(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory)
    {
        this(params, weights, biasOrNull, fused, Conv2d.DEFAULT_SCRATCH_TARGET_FLOATS, memory);
    }

    /** As {@link #ConvTranspose2d(ConvParams, float[], float[], Activation)} with a chosen chunk bound (tests). */
    ConvTranspose2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final int scratchTargetFloats)
    {
        this(params, weights, biasOrNull, fused, scratchTargetFloats, RegionAllocator.COLLECTED);
    }

    private ConvTranspose2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final int scratchTargetFloats, final RegionAllocator memory)
    {
        Conv2d.checkPrepare(params, true, weights, biasOrNull, fused);
        this.params = params;
        this.scratchTargetFloats = scratchTargetFloats;
        this.inChannelsPerGroup = params.inChannelsPerGroup();
        this.outChannelsPerGroup = params.outChannelsPerGroup();
        this.productColumns = params.kernelH() * params.kernelW() * outChannelsPerGroup;
        this.epilogue = new Epilogue(biasOrNull, params.outChannels(), fused);
        this.packedWeights = pack(params, weights, productColumns, memory);
        this.disjointWindows = params.groups() == 1 && params.strideH() == params.kernelH() &&
            params.strideW() == params.kernelW() && params.dilationH() == 1 && params.dilationW() == 1 &&
            params.padTop() == 0 && params.padLeft() == 0 && params.padBottom() == 0 && params.padRight() == 0 &&
            params.outputPaddingH() == 0 && params.outputPaddingW() == 0;
    }

    /** @return whether this kernel runs the no-overlap path: one sgemm per output row, no scatter. */
    boolean disjointWindows()
    {
        return disjointWindows;
    }

    @Override
    public ConvParams params()
    {
        return params;
    }

    @Override
    public int scratchFloats(final int inputWidth, final int outputRows)
    {
        Conv2d.checkRowCount(outputRows);
        params.outputWidth(inputWidth);
        if (outputRows == 0 || disjointWindows)
        {
            return 0;
        }
        // Contributing input rows i have i * strideH within an interval of outputRows - 1 + (kernelH - 1) * dilationH.
        final long span = (long)outputRows - 1 + (long)(params.kernelH() - 1) * params.dilationH();
        final long inputRows = span / params.strideH() + 1;
        return (int)Math.min(chunkRows(inputWidth), inputRows) * inputWidth * productColumns;
    }

    @Override
    public void forward(
        final MapView in, final MapView residual, final MapView out, final int h0, final int h1,
        final FloatRegion scratch, final int scratchOffset)
    {
        if (residual != null)
        {
            throw new UnsupportedOperationException("ConvTranspose2d does not add a residual");
        }
        params.checkCall(in, out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        Conv2d.checkScratch(scratchFloats(in.width(), h1 - h0), scratch, scratchOffset);
        if (disjointWindows)
        {
            forwardDisjoint(in, out, h0, h1);
            return;
        }
        final int inW = in.width();
        final int cin = params.inChannels();
        Conv2d.zero(out.region().floats(), out.rowOffset(h0), (h1 - h0) * out.rowStride());
        final int i0 = params.firstInputRowClipped(h0, h1, in.height());
        final int i1 = params.endInputRowClipped(h0, h1, in.height());
        final int chunkRows = chunkRows(inW);
        for (int c0 = i0; c0 < i1; c0 += chunkRows)
        {
            final int c1 = Math.min(i1, c0 + chunkRows);
            final int m = (c1 - c0) * inW;
            for (int g = 0; g < params.groups(); g++)
            {
                Blas.sgemm(false, false, m, productColumns, inChannelsPerGroup, 1f,
                    in.region(), in.rowOffset(c0) + g * inChannelsPerGroup, cin,
                    packedWeights, g * inChannelsPerGroup * productColumns, productColumns,
                    0f, scratch, scratchOffset, productColumns);
                col2im(scratch.floats(), scratchOffset, inW, c0, c1, g, out, h0, h1);
            }
        }
        epilogue.apply(out.region(), out.rowOffset(h0), (h1 - h0) * out.rowStride(), null, h0);
    }

    /**
     * Output rows {@code [h0, h1)} of a layer whose windows do not overlap: row oh is the product of input row
     * {@code oh / kernelH} ({@code [inW, Cin]}) and the weight columns of kernel row {@code oh % kernelH}
     * ({@code [Cin, kernelW * Cout]}), whose rows are {@code kernelW} output pixels each, so the product's row stride is
     * the output's pixel stride times {@code kernelW}.
     */
    private void forwardDisjoint(final MapView in, final MapView out, final int h0, final int h1)
    {
        final int inW = in.width();
        final int cin = params.inChannels();
        final int kernelH = params.kernelH();
        final int rowColumns = params.kernelW() * outChannelsPerGroup;
        final int rowFloats = out.width() * params.outChannels();
        for (int oh = h0; oh < h1; oh++)
        {
            final int ih = oh / kernelH;
            final int kh = oh - ih * kernelH;
            final int outRow = out.rowOffset(oh);
            Blas.sgemm(false, false, inW, rowColumns, cin, 1f, in.region(), in.rowOffset(ih), cin,
                packedWeights, kh * rowColumns, productColumns, 0f, out.region(), outRow, rowColumns);
            epilogue.apply(out.region(), outRow, rowFloats, null, oh);
        }
    }

    /**
     * Adds the products of input rows {@code [c0, c1)}, group {@code g}, into the output rows of {@code [h0, h1)}
     * they land on.
     */
    private void col2im(
        final FloatBuffer col, final int colOffset, final int inW, final int c0, final int c1, final int g,
        final MapView out, final int h0, final int h1)
    {
        final FloatBuffer dst = out.region().floats();
        final int outW = out.width();
        final int cout = params.outChannels();
        final int coutG = outChannelsPerGroup;
        final int kernelH = params.kernelH();
        final int kernelW = params.kernelW();
        final int strideW = params.strideW();
        final int dilationW = params.dilationW();
        final int padLeft = params.padLeft();
        for (int ih = c0; ih < c1; ih++)
        {
            for (int kh = 0; kh < kernelH; kh++)
            {
                final int oh = ih * params.strideH() - params.padTop() + kh * params.dilationH();
                if (oh < h0 || oh >= h1)
                {
                    continue;
                }
                final int outRow = out.rowOffset(oh) + g * coutG;
                final int colRow = colOffset + (ih - c0) * inW * productColumns + kh * kernelW * coutG;
                for (int iw = 0; iw < inW; iw++)
                {
                    final int owBase = iw * strideW - padLeft;
                    final int colPixel = colRow + iw * productColumns;
                    for (int kw = 0; kw < kernelW; kw++)
                    {
                        final int ow = owBase + kw * dilationW;
                        if (ow < 0 || ow >= outW)
                        {
                            continue;
                        }
                        final int o = outRow + ow * cout;
                        final int s = colPixel + kw * coutG;
                        for (int j = 0; j < coutG; j++)
                        {
                            dst.put(o + j, dst.get(o + j) + col.get(s + j));
                        }
                    }
                }
            }
        }
    }

    private int chunkRows(final int inputWidth)
    {
        return Math.max(1, scratchTargetFloats / (inputWidth * productColumns));
    }

    private static FloatRegion pack(final ConvParams params, final float[] weights, final int productColumns,
        final RegionAllocator memory)
    {
        final int coutG = params.outChannelsPerGroup();
        final int taps = params.kernelH() * params.kernelW();
        final FloatRegion packed = memory.allocate(weights.length);
        final FloatBuffer f = packed.floats();
        for (int ci = 0; ci < params.inChannels(); ci++)
        {
            for (int co = 0; co < coutG; co++)
            {
                for (int t = 0; t < taps; t++)
                {
                    f.put(ci * productColumns + t * coutG + co, weights[(ci * coutG + co) * taps + t]);
                }
            }
        }
        return packed;
    }
}
