package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Output-channel windows ({@link ConvKernel#forwardChannels}), as threads that split a layer by channels compute
 * them: im2col, pointwise and Winograd kernels, with and without a residual, windows from
 * {@link ConvKernel#windowStart} for 2 and 3 parts. Each window is checked against the naive reference (relative
 * error <= 1e-5, as {@link ConvHarness}) and must leave every other channel untouched (sentinels).
 */
class ChannelWindowTest
{
    private static final float SENTINEL = -12345.5f;

    @Test
    void shouldComputeExactlyTheWindowsChannels()
    {
        final SplittableRandom random = new SplittableRandom(53);
        double worst = 0;
        for (int trial = 0; trial < 24; trial++)
        {
            final int kind = trial % 3; // 0 im2col 3x3 stride 2, 1 pointwise, 2 Winograd
            final int cin = 1 + random.nextInt(40);
            final int cout = 17 + random.nextInt(60);
            final int inH = 3 + random.nextInt(kind == 2 ? 30 : 12);
            final int inW = 3 + random.nextInt(kind == 2 ? 30 : 12);
            final ConvParams p = kind == 1 ? ConvParams.conv(cin, cout, 1, 1).build() : kind == 0 ?
                ConvParams.conv(cin, cout, 3, 3).stride(2, 2).pads(1, 1, 1, 1).build() :
                ConvParams.conv(cin, cout, 3, 3).pads(1, 1, 1, 1).build();
            final float[] weights = ConvHarness.randomArray(random, cout * cin * p.kernelH() * p.kernelW());
            final float[] bias = ConvHarness.randomArray(random, cout);
            final Activation act = ConvHarness.randomActivation(random);
            final ConvKernel kernel = kind == 2 ? new WinogradConv2d(p, weights, bias, act) :
                new Conv2d(p, weights, bias, act);
            final boolean withResidual = random.nextBoolean();
            final ConvHarness.Case c = withResidual ?
                ConvHarness.convResidual(kernel, weights, bias, act, inH, inW, random) :
                ConvHarness.conv(kernel, weights, bias, act, inH, inW, random);
            final int parts = 2 + random.nextInt(2);
            for (int part = 0; part < parts; part++)
            {
                worst = Math.max(worst, runWindow(c, ConvKernel.windowStart(cout, part, parts),
                    ConvKernel.windowStart(cout, part + 1, parts)));
            }
        }
        System.out.printf("channel windows vs reference: worst relative error %.3g%n", worst);
    }

    /** Runs one window over the whole map into a sentinel-filled output and checks it. */
    private static double runWindow(final ConvHarness.Case c, final int c0, final int c1)
    {
        final ConvParams p = c.kernel.params();
        final int outH = c.outH();
        final int outW = c.outW();
        final int cout = p.outChannels();
        final FloatRegion input = FloatRegion.allocate(c.inH * c.inW * p.inChannels());
        input.put(0, c.input);
        final FloatRegion output = FloatRegion.allocate(outH * outW * cout);
        output.fill(0, output.length(), SENTINEL);
        final MapView residual;
        if (c.residual == null)
        {
            residual = null;
        }
        else
        {
            final FloatRegion r = FloatRegion.allocate(c.residual.length);
            r.put(0, c.residual);
            residual = MapView.of(r, 0, outH, outW, cout);
        }
        final FloatRegion scratch = FloatRegion.allocate(Math.max(1, c.kernel.scratchFloats(c.inW, outH)));
        scratch.fill(0, scratch.length(), Float.NaN);
        c.kernel.forwardChannels(MapView.of(input, 0, c.inH, c.inW, p.inChannels()), residual,
            MapView.of(output, 0, outH, outW, cout), 0, outH, c0, c1, scratch, 0);
        double worst = 0;
        for (int px = 0; px < outH * outW; px++)
        {
            for (int ch = 0; ch < cout; ch++)
            {
                final float got = output.floats().get(px * cout + ch);
                if (ch < c0 || ch >= c1)
                {
                    assertEquals(SENTINEL, got, "channel " + ch + " outside [" + c0 + ", " + c1 + ") written, " + p);
                    continue;
                }
                final double error = Math.abs(got - c.expected[px * cout + ch]) / c.magnitude;
                assertTrue(error <= 1e-5, "relative error " + error + " at pixel " + px + " channel " + ch +
                    " of window [" + c0 + ", " + c1 + "), " + p);
                worst = Math.max(worst, error);
            }
        }
        return worst;
    }

    @Test
    void shouldSplitWindowsOnWholeVectorsAndCoverEveryChannel()
    {
        assertEquals(0, ConvKernel.windowStart(512, 0, 2));
        assertEquals(256, ConvKernel.windowStart(512, 1, 2));
        assertEquals(512, ConvKernel.windowStart(512, 2, 2));
        assertEquals(80, ConvKernel.windowStart(160, 1, 2));
        assertEquals(48, ConvKernel.windowStart(100, 1, 2));
        assertEquals(100, ConvKernel.windowStart(100, 2, 2));
    }

    @Test
    void shouldPreferChannelsOnlyWhereTheWeightsOutweighThePixels()
    {
        final ConvParams deep = ConvParams.conv(512, 512, 3, 3).pads(1, 1, 1, 1).build();
        final ConvKernel im2col = new Conv2d(deep, new float[512 * 512 * 9], null, Activation.RELU);
        assertTrue(im2col.prefersChannelSplit(7, 7, 2));
        assertFalse(im2col.prefersChannelSplit(7, 7, 1));
        assertFalse(im2col.prefersChannelSplit(56, 56, 2));
        final ConvParams wide = ConvParams.conv(256, 256, 3, 3).pads(1, 1, 1, 1).build();
        final ConvKernel winograd = new WinogradConv2d(wide, new float[256 * 256 * 9], null, Activation.RELU);
        assertTrue(winograd.prefersChannelSplit(28, 28, 2));
        assertFalse(winograd.prefersChannelSplit(56, 56, 2));
        final ConvParams grouped = ConvParams.conv(64, 512, 3, 3).groups(2).pads(1, 1, 1, 1).build();
        final ConvKernel groups = new Conv2d(grouped, new float[512 * 32 * 9], null, Activation.RELU);
        assertFalse(groups.prefersChannelSplit(7, 7, 2));
    }

    @Test
    void shouldRefuseAWindowOutsideTheChannels()
    {
        final ConvParams p = ConvParams.conv(4, 32, 3, 3).pads(1, 1, 1, 1).build();
        final ConvKernel kernel = new Conv2d(p, new float[32 * 4 * 9], null, Activation.NONE);
        final MapView in = MapView.of(FloatRegion.allocate(8 * 8 * 4), 0, 8, 8, 4);
        final MapView out = MapView.of(FloatRegion.allocate(8 * 8 * 32), 0, 8, 8, 32);
        final FloatRegion scratch = FloatRegion.allocate(kernel.scratchFloats(8, 8));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> kernel.forwardChannels(in, null, out, 0, 8, 16, 40, scratch, 0));
        assertTrue(e.getMessage().contains("[16, 40)"), e.getMessage());
    }
}
