package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Split execution needs a conv to compute every output pixel the same, up to rounding, whichever row range it is
 * asked for: the rows computed in two slices, cut anywhere, must match the whole map's within the rounding bound of
 * the pixel's dot product. The bound is the textbook one for a float dot product of length K in any order, with or
 * without fused multiply-adds: {@code |computed - exact| <= gamma(K) * sum |a_k * w_k|}, {@code gamma(K) = K u /
 * (1 - K u)}, {@code u = 2^-24}; two correct results differ by at most twice that. It holds for any BLAS kernel, so
 * the test passes whichever core OpenBLAS runs, and fails on a slice that reads a wrong tap, row or weight.
 */
class Conv2dSliceInvarianceTest
{
    private static final double UNIT_ROUNDOFF = Math.ulp(1.0f) / 2;

    @Test
    void shouldComputeEveryPixelWithinRoundingWhereverTheRowsAreCut()
    {
        final Random random = new Random(1);
        // (H, W, Cin, Cout, kernel, stride): small-K stride-2, 3x3, 1x1 and a deep layer
        final int[][] shapes = {{48, 80, 8, 16, 3, 2}, {24, 40, 16, 32, 3, 1}, {24, 40, 64, 64, 3, 1},
            {12, 20, 96, 96, 1, 1}, {12, 20, 24, 8, 1, 1}, {6, 10, 256, 256, 3, 1}};
        for (final int[] shape : shapes)
        {
            final int h = shape[0];
            final int w = shape[1];
            final int cin = shape[2];
            final int cout = shape[3];
            final int k = shape[4];
            final int s = shape[5];
            final ConvParams p = ConvParams.conv(cin, cout, k, k).stride(s, s).pads(k / 2, k / 2, k / 2, k / 2).build();
            final float[] weights = new float[cout * cin * k * k];
            for (int i = 0; i < weights.length; i++)
            {
                weights[i] = (float)random.nextGaussian();
            }
            final float[] input = new float[h * w * cin];
            for (int i = 0; i < input.length; i++)
            {
                input[i] = (float)random.nextGaussian();
            }
            final ConvKernel conv = ConvKernel.create(p, weights, null, Activation.NONE);
            final FloatRegion in = FloatRegion.allocate(input.length);
            in.floats().put(0, input);
            final int oh = p.outputHeight(h);
            final int ow = p.outputWidth(w);
            final int size = oh * ow * cout;
            final double[] bound = roundingBounds(p, input, weights, h, w);
            final FloatRegion whole = FloatRegion.allocate(size);
            final FloatRegion sliced = FloatRegion.allocate(size);
            final FloatRegion scratch = FloatRegion.allocate(conv.scratchFloats(w, oh));
            final MapView inputView = MapView.of(in, 0, h, w, cin);
            conv.forward(inputView, MapView.of(whole, 0, oh, ow, cout), 0, oh, scratch, 0);
            final MapView out = MapView.of(sliced, 0, oh, ow, cout);
            for (int cut = 1; cut < oh; cut++)
            {
                sliced.fill(0, size, Float.NaN);
                conv.forward(inputView, out, 0, cut, scratch, 0);
                conv.forward(inputView, out, cut, oh, scratch, 0);
                for (int i = 0; i < size; i++)
                {
                    final double difference = Math.abs((double)whole.floats().get(i) - sliced.floats().get(i));
                    final int at = i;
                    final int cutRow = cut;
                    assertTrue(difference <= bound[i], () -> Arrays.toString(shape) + " cut at row " + cutRow +
                        ": float " + at + " differs by " + difference + ", bound " + bound[at]);
                }
            }
        }
    }

    /** @return per output float (NHWC), twice the dot product's rounding bound: {@code 2 gamma(K) sum |a w|}. */
    private static double[] roundingBounds(
        final ConvParams p, final float[] input, final float[] weights, final int h, final int w)
    {
        final int oh = p.outputHeight(h);
        final int ow = p.outputWidth(w);
        final int cin = p.inChannels();
        final int cout = p.outChannels();
        final int kh = p.kernelH();
        final int kw = p.kernelW();
        final int taps = kh * kw * cin;
        final double gamma = taps * UNIT_ROUNDOFF / (1 - taps * UNIT_ROUNDOFF);
        final double[] bound = new double[oh * ow * cout];
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                for (int co = 0; co < cout; co++)
                {
                    double sum = 0;
                    for (int ci = 0; ci < cin; ci++)
                    {
                        for (int ky = 0; ky < kh; ky++)
                        {
                            final int iy = y * p.strideH() - p.padTop() + ky;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                final int ix = x * p.strideW() - p.padLeft() + kx;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                {
                                    sum += Math.abs((double)input[(iy * w + ix) * cin + ci] *
                                        weights[((co * cin + ci) * kh + ky) * kw + kx]);
                                }
                            }
                        }
                    }
                    bound[(y * ow + x) * cout + co] = 2 * gamma * sum;
                }
            }
        }
        return bound;
    }
}
