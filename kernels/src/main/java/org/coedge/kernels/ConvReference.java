package org.coedge.kernels;

/**
 * Naive reference convolutions written straight from the ONNX Conv and ConvTranspose definitions, over whole NHWC maps
 * in heap arrays, accumulating in double. They are the oracle the fast kernels (and the engine's split executions)
 * are tested against; never used on a hot path. Stateless; callable from any thread.
 */
public final class ConvReference
{
    private ConvReference()
    {
    }

    /**
     * {@code y[oh, ow, co] = f(b[co] + sum over ci of its group, kh, kw of
     * x[oh * sH - padTop + kh * dH, ow * sW - padLeft + kw * dW, ci] * W[co, ci - g * Cin_g, kh, kw])}, taps outside
     * the map reading zero.
     *
     * @param input       {@code [inputHeight, inputWidth, inChannels]}.
     * @param inputHeight input rows.
     * @param inputWidth  input columns.
     * @param params      convolution parameters, not transposed.
     * @param weights     {@code [outChannels, inChannels / groups, kernelH, kernelW]}.
     * @param biasOrNull  {@code [outChannels]} or {@code null}.
     * @param activation  applied last.
     * @return the whole output map {@code [outputHeight, outputWidth, outChannels]}.
     */
    public static float[] conv(
        final float[] input, final int inputHeight, final int inputWidth, final ConvParams params,
        final float[] weights, final float[] biasOrNull, final Activation activation)
    {
        Conv2d.checkPrepare(params, false, weights, biasOrNull, activation);
        checkInput(input, inputHeight, inputWidth, params);
        final int outH = params.outputHeight(inputHeight);
        final int outW = params.outputWidth(inputWidth);
        final int cin = params.inChannels();
        final int cout = params.outChannels();
        final int cinG = params.inChannelsPerGroup();
        final int coutG = params.outChannelsPerGroup();
        final int kH = params.kernelH();
        final int kW = params.kernelW();
        final float[] output = new float[outH * outW * cout];
        for (int oh = 0; oh < outH; oh++)
        {
            for (int ow = 0; ow < outW; ow++)
            {
                for (int co = 0; co < cout; co++)
                {
                    final int g = co / coutG;
                    double sum = biasOrNull == null ? 0.0 : biasOrNull[co];
                    for (int ciInGroup = 0; ciInGroup < cinG; ciInGroup++)
                    {
                        final int ci = g * cinG + ciInGroup;
                        for (int kh = 0; kh < kH; kh++)
                        {
                            final int ih = oh * params.strideH() - params.padTop() + kh * params.dilationH();
                            for (int kw = 0; kw < kW; kw++)
                            {
                                final int iw = ow * params.strideW() - params.padLeft() + kw * params.dilationW();
                                if (ih >= 0 && ih < inputHeight && iw >= 0 && iw < inputWidth)
                                {
                                    sum += (double)input[(ih * inputWidth + iw) * cin + ci] *
                                        weights[((co * cinG + ciInGroup) * kH + kh) * kW + kw];
                                }
                            }
                        }
                    }
                    output[(oh * outW + ow) * cout + co] = activation.apply((float)sum);
                }
            }
        }
        return output;
    }

    /**
     * Every input element {@code x[ih, iw, ci]} adds {@code x * W[ci, co - g * Cout_g, kh, kw]} to
     * {@code y[ih * sH - padTop + kh * dH, iw * sW - padLeft + kw * dW, co]} for each output channel co of its group,
     * where that position lies in the output; then {@code y = f(y + b)}.
     *
     * @param input       {@code [inputHeight, inputWidth, inChannels]}.
     * @param inputHeight input rows.
     * @param inputWidth  input columns.
     * @param params      transposed convolution parameters.
     * @param weights     {@code [inChannels, outChannels / groups, kernelH, kernelW]}.
     * @param biasOrNull  {@code [outChannels]} or {@code null}.
     * @param activation  applied last.
     * @return the whole output map {@code [outputHeight, outputWidth, outChannels]}.
     */
    public static float[] convTranspose(
        final float[] input, final int inputHeight, final int inputWidth, final ConvParams params,
        final float[] weights, final float[] biasOrNull, final Activation activation)
    {
        Conv2d.checkPrepare(params, true, weights, biasOrNull, activation);
        checkInput(input, inputHeight, inputWidth, params);
        final int outH = params.outputHeight(inputHeight);
        final int outW = params.outputWidth(inputWidth);
        final int cin = params.inChannels();
        final int cout = params.outChannels();
        final int cinG = params.inChannelsPerGroup();
        final int coutG = params.outChannelsPerGroup();
        final int kH = params.kernelH();
        final int kW = params.kernelW();
        final double[] sums = new double[outH * outW * cout];
        for (int ih = 0; ih < inputHeight; ih++)
        {
            for (int iw = 0; iw < inputWidth; iw++)
            {
                for (int ci = 0; ci < cin; ci++)
                {
                    final int g = ci / cinG;
                    final double x = input[(ih * inputWidth + iw) * cin + ci];
                    for (int kh = 0; kh < kH; kh++)
                    {
                        final int oh = ih * params.strideH() - params.padTop() + kh * params.dilationH();
                        for (int kw = 0; kw < kW; kw++)
                        {
                            final int ow = iw * params.strideW() - params.padLeft() + kw * params.dilationW();
                            if (oh < 0 || oh >= outH || ow < 0 || ow >= outW)
                            {
                                continue;
                            }
                            for (int coInGroup = 0; coInGroup < coutG; coInGroup++)
                            {
                                sums[(oh * outW + ow) * cout + g * coutG + coInGroup] +=
                                    x * weights[((ci * coutG + coInGroup) * kH + kh) * kW + kw];
                            }
                        }
                    }
                }
            }
        }
        final float[] output = new float[sums.length];
        for (int i = 0; i < sums.length; i++)
        {
            final double b = biasOrNull == null ? 0.0 : biasOrNull[i % cout];
            output[i] = activation.apply((float)(sums[i] + b));
        }
        return output;
    }

    private static void checkInput(
        final float[] input, final int inputHeight, final int inputWidth, final ConvParams params)
    {
        if (inputHeight < 1 || inputWidth < 1 ||
            input.length != (long)inputHeight * inputWidth * params.inChannels())
        {
            throw new IllegalArgumentException("input of " + input.length + " floats is not " + inputHeight + "x" +
                inputWidth + "x" + params.inChannels());
        }
    }
}
