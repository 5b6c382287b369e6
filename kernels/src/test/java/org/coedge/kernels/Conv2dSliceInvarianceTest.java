package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Split execution relies on a conv computing every output pixel bit for bit the same whichever row range it is asked
 * for: computing the rows in two slices, cut anywhere, must give exactly the whole map's bits. Small products
 * (OpenBLAS's small-matrix kernel rounds differently) are what broke this before they were padded.
 */
class Conv2dSliceInvarianceTest
{
    @Test
    void shouldComputeEveryPixelIdenticallyWhereverTheRowsAreCut()
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
            final ConvKernel conv = ConvKernel.create(p, weights, null, Activation.NONE);
            final FloatRegion in = FloatRegion.allocate(h * w * cin);
            for (int i = 0; i < h * w * cin; i++)
            {
                in.floats().put(i, (float)random.nextGaussian());
            }
            final int oh = p.outputHeight(h);
            final int ow = p.outputWidth(w);
            final int size = oh * ow * cout;
            final FloatRegion whole = FloatRegion.allocate(size);
            final FloatRegion sliced = FloatRegion.allocate(size);
            final FloatRegion scratch = FloatRegion.allocate(conv.scratchFloats(w, oh));
            final MapView input = MapView.of(in, 0, h, w, cin);
            conv.forward(input, MapView.of(whole, 0, oh, ow, cout), 0, oh, scratch, 0);
            final MapView out = MapView.of(sliced, 0, oh, ow, cout);
            for (int cut = 1; cut < oh; cut++)
            {
                conv.forward(input, out, 0, cut, scratch, 0);
                conv.forward(input, out, cut, oh, scratch, 0);
                int differing = 0;
                for (int i = 0; i < size; i++)
                {
                    if (Float.floatToRawIntBits(whole.floats().get(i)) != Float.floatToRawIntBits(sliced.floats().get(i)))
                    {
                        differing++;
                    }
                }
                assertEquals(0, differing, java.util.Arrays.toString(shape) + " cut at row " + cut);
            }
        }
    }
}
