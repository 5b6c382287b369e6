package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * Depthwise 2-D convolution (groups == input channels == output channels) over NHWC maps by a direct loop: a GEMM per
 * channel would have one column, so im2col buys nothing. Owns its weights repacked as {@code (kernelH, kernelW, C)}
 * so that, for every output pixel and tap, the innermost loop runs over contiguous channels of input, weights and
 * output alike. A 3x3 kernel whose taps all fall inside the map (nearly every pixel) sums its nine taps per channel
 * in registers and stores once; other pixels accumulate tap by tap in the output.
 * <p>
 * Reads and writes the maps in place: with a channel count known only at run time, JDK 17 vectorizes neither these
 * loops nor the same loops over heap copies (measured equal), so staging would only add copies. It needs no scratch
 * and keeps no mutable state (the activation's staging array is per thread): {@link #forward} may run on several
 * threads at once.
 */
public final class DepthwiseConv2d implements ConvKernel
{
    private final ConvParams params;
    private final float[] weights; // (kernelH, kernelW, C)
    private final float[] bias; // (C), zeros when the layer has none
    private final Conv2d.Epilogue epilogue; // activation only: the bias is summed with the taps

    /**
     * Repacks the weights.
     *
     * @param params     depthwise convolution parameters ({@link ConvParams#isDepthwise()}).
     * @param weights    ONNX layout {@code [C, 1, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [C]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     */
    public DepthwiseConv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        Conv2d.checkPrepare(params, false, weights, biasOrNull, fused);
        if (!params.isDepthwise())
        {
            throw new IllegalArgumentException(params + " is not depthwise (groups == in == out channels)");
        }
        final int channels = params.inChannels();
        final int taps = params.kernelH() * params.kernelW();
        this.params = params;
        this.weights = new float[weights.length];
        for (int c = 0; c < channels; c++)
        {
            for (int t = 0; t < taps; t++)
            {
                this.weights[t * channels + c] = weights[c * taps + t];
            }
        }
        this.bias = biasOrNull == null ? new float[channels] : biasOrNull.clone();
        this.epilogue = new Conv2d.Epilogue(null, channels, fused);
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
        return 0;
    }

    @Override
    public void forward(
        final MapView in, final MapView out, final int h0, final int h1, final FloatRegion scratch,
        final int scratchOffset)
    {
        params.checkCall(in, out, h0, h1);
        final int outW = out.width();
        final int rowFloats = out.rowStride();
        for (int oh = h0; oh < h1; oh++)
        {
            final int outRowOffset = out.rowOffset(oh);
            final int ihBase = oh * params.strideH() - params.padTop();
            final boolean rowsInside =
                ihBase >= 0 && ihBase + (params.kernelH() - 1) * params.dilationH() < in.height();
            for (int ow = 0; ow < outW; ow++)
            {
                final int iwBase = ow * params.strideW() - params.padLeft();
                final boolean inside = rowsInside && iwBase >= 0 &&
                    iwBase + (params.kernelW() - 1) * params.dilationW() < in.width();
                if (inside && params.kernelH() == 3 && params.kernelW() == 3)
                {
                    pixel3x3(in, ihBase, iwBase, out.region().floats(), outRowOffset + ow * out.channels());
                }
                else
                {
                    pixel(in, ihBase, iwBase, out.region().floats(), outRowOffset + ow * out.channels());
                }
            }
            epilogue.apply(out.region(), outRowOffset, rowFloats);
        }
    }

    private void pixel3x3(final MapView in, final int ihBase, final int iwBase, final FloatBuffer dst, final int o)
    {
        final FloatBuffer src = in.region().floats();
        final float[] w = weights;
        final float[] b = bias;
        final int channels = params.inChannels();
        final int tapStep = params.dilationW() * channels;
        final int rowStep = params.dilationH() * in.rowStride();
        final int a0 = in.index(ihBase, iwBase, 0);
        final int a1 = a0 + rowStep;
        final int a2 = a1 + rowStep;
        final int t1 = tapStep;
        final int t2 = 2 * tapStep;
        final int c2 = 2 * channels;
        final int c3 = 3 * channels;
        final int c4 = 4 * channels;
        final int c5 = 5 * channels;
        final int c6 = 6 * channels;
        final int c7 = 7 * channels;
        final int c8 = 8 * channels;
        for (int c = 0; c < channels; c++)
        {
            final float sum = b[c] +
                src.get(a0 + c) * w[c] + src.get(a0 + t1 + c) * w[channels + c] + src.get(a0 + t2 + c) * w[c2 + c] +
                src.get(a1 + c) * w[c3 + c] + src.get(a1 + t1 + c) * w[c4 + c] + src.get(a1 + t2 + c) * w[c5 + c] +
                src.get(a2 + c) * w[c6 + c] + src.get(a2 + t1 + c) * w[c7 + c] + src.get(a2 + t2 + c) * w[c8 + c];
            dst.put(o + c, sum);
        }
    }

    private void pixel(final MapView in, final int ihBase, final int iwBase, final FloatBuffer dst, final int o)
    {
        final FloatBuffer src = in.region().floats();
        final float[] w = weights;
        final int channels = params.inChannels();
        for (int c = 0; c < channels; c++)
        {
            dst.put(o + c, bias[c]);
        }
        for (int kh = 0; kh < params.kernelH(); kh++)
        {
            final int ih = ihBase + kh * params.dilationH();
            if (ih < 0 || ih >= in.height())
            {
                continue;
            }
            for (int kw = 0; kw < params.kernelW(); kw++)
            {
                final int iw = iwBase + kw * params.dilationW();
                if (iw < 0 || iw >= in.width())
                {
                    continue;
                }
                final int a = in.index(ih, iw, 0);
                final int wb = (kh * params.kernelW() + kw) * channels;
                for (int c = 0; c < channels; c++)
                {
                    dst.put(o + c, dst.get(o + c) + src.get(a + c) * w[wb + c]);
                }
            }
        }
    }
}
