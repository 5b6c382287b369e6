package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The residual epilogue ({@link ConvKernel#forward(MapView, MapView, MapView, int, int, FloatRegion, int)}) of every
 * kernel that has one, against the naive reference {@code f(conv + bias + residual)} within {@link
 * ConvHarness#TOLERANCE} relative error: random shapes, strides, pads, groups and activations, random row ranges of
 * windowed views (residual rows outside the range are NaN, so a stored misread shows), nothing written outside the
 * range.
 */
class ConvResidualTest
{
    @Test
    void shouldAddResidualInIm2colPointwiseAndGroupedConvolutions()
    {
        final SplittableRandom random = new SplittableRandom(141);
        for (int trial = 0; trial < 60; trial++)
        {
            final int groups = random.nextInt(4) == 0 ? 2 : 1;
            final int cin = groups * (1 + random.nextInt(6));
            final int cout = groups * (1 + random.nextInt(9));
            final boolean pointwise = random.nextInt(3) == 0;
            final int kh = pointwise ? 1 : 1 + random.nextInt(4);
            final int kw = pointwise ? 1 : 1 + random.nextInt(3);
            final ConvParams.Builder b = ConvParams.conv(cin, cout, kh, kw).groups(groups);
            if (!pointwise)
            {
                b.stride(1 + random.nextInt(2), 1 + random.nextInt(2)).pads(random.nextInt(2), random.nextInt(2),
                    random.nextInt(2), random.nextInt(2));
            }
            runCase(b.build(), random, 1 + random.nextInt(12), 3 + random.nextInt(12), false);
        }
    }

    @Test
    void shouldAddResidualInSmallChunksAndFlippedProducts()
    {
        // a tiny im2col bound makes every row its own chunk, and chunks of few pixels take the flipped product
        final SplittableRandom random = new SplittableRandom(142);
        final ConvParams p = ConvParams.conv(5, 7, 3, 3).pad(1).build();
        final float[] w = ConvHarness.randomArray(random, 7 * 5 * 9);
        final float[] bias = ConvHarness.randomArray(random, 7);
        final Conv2d kernel = new Conv2d(p, w, bias, Activation.RELU, 1);
        final ConvHarness.Case c = ConvHarness.convResidual(kernel, w, bias, Activation.RELU, 9, 6, random);
        ConvHarness.runAndCheck(c, 0, c.outH(), random);
        ConvHarness.runAndCheck(c, 2, 7, random);
    }

    @Test
    void shouldAddResidualInWinogradTilesOfAnyRowRange()
    {
        final SplittableRandom random = new SplittableRandom(143);
        for (int trial = 0; trial < 16; trial++)
        {
            final ConvParams p = ConvParams.conv(1 + random.nextInt(9), 1 + random.nextInt(9), 3, 3)
                .pads(random.nextInt(2), random.nextInt(2), random.nextInt(2), random.nextInt(2)).build();
            runCase(p, random, 3 + random.nextInt(14), 3 + random.nextInt(14), true);
        }
    }

    @Test
    void shouldAddResidualInDepthwiseConvolutions()
    {
        final SplittableRandom random = new SplittableRandom(144);
        for (int trial = 0; trial < 30; trial++)
        {
            final int c = 1 + random.nextInt(40);
            final int k = random.nextBoolean() ? 3 : 5;
            final int s = 1 + random.nextInt(2);
            final ConvParams p = ConvParams.conv(c, c, k, k).groups(c).stride(s, s)
                .pad(random.nextInt(k / 2 + 1)).build();
            final int inH = k + random.nextInt(12);
            final int inW = k + random.nextInt(12);
            final float[] w = ConvHarness.randomArray(random, c * k * k);
            final float[] bias = ConvHarness.randomArray(random, c);
            final Activation activation = ConvHarness.randomActivation(random);
            for (final boolean vector : new boolean[]{ false, true })
            {
                final ConvKernel kernel = new DepthwiseConv2d(p, w, bias, activation, vector);
                final ConvHarness.Case cs = ConvHarness.convResidual(kernel, w, bias, activation, inH, inW, random);
                final int[] range = ConvHarness.randomRange(random, cs.outH());
                ConvHarness.runAndCheck(cs, range[0], range[1], random);
            }
        }
    }

    @Test
    void shouldRefuseResidualsThatDoNotFitBeforeWriting()
    {
        final SplittableRandom random = new SplittableRandom(145);
        final ConvParams p = ConvParams.conv(3, 4, 3, 3).pad(1).build();
        final float[] w = ConvHarness.randomArray(random, 4 * 3 * 9);
        final FloatRegion arena = FloatRegion.allocate(4096);
        final MapView in = MapView.of(arena, 0, 6, 6, 3);
        final MapView out = MapView.of(arena, 200, 6, 6, 4);
        final FloatRegion scratch = FloatRegion.allocate(4096 * 8);
        for (final ConvKernel kernel : new ConvKernel[]{
            new Conv2d(p, w, null, Activation.NONE), new WinogradConv2d(p, w, null, Activation.NONE) })
        {
            assertTrue(kernel.addsResidual());
            arena.fill(200, 6 * 6 * 4, -3f);
            final MapView wrongShape = MapView.of(arena, 400, 6, 6, 5);
            final MapView fewRows = new MapView().wrap(arena, 400, 6, 6, 4, 2, 2);
            final MapView overlapping = MapView.of(arena, 250, 6, 6, 4);
            for (final MapView bad : new MapView[]{ wrongShape, fewRows, overlapping })
            {
                assertThrows(IllegalArgumentException.class,
                    () -> kernel.forward(in, bad, out, 0, 6, scratch, 0), bad.toString());
            }
            for (int i = 0; i < 6 * 6 * 4; i++)
            {
                assertEquals(-3f, arena.floats().get(200 + i), "output written by a refused call");
            }
        }
        final ConvKernel transpose = ConvKernel.createTranspose(ConvParams.transpose(3, 4, 3, 3).build(),
            ConvHarness.randomArray(random, 3 * 4 * 9), null, Activation.NONE);
        assertFalse(transpose.addsResidual());
        final MapView tIn = MapView.of(arena, 0, 4, 4, 3);
        final MapView tOut = MapView.of(arena, 200, 6, 6, 4);
        assertThrows(UnsupportedOperationException.class,
            () -> transpose.forward(tIn, MapView.of(arena, 400, 6, 6, 4), tOut, 0, 6, scratch, 0));
    }

    private static void runCase(
        final ConvParams p, final SplittableRandom random, final int inH, final int inW, final boolean winograd)
    {
        try
        {
            p.outputHeight(inH);
            p.outputWidth(inW);
        }
        catch (final IllegalArgumentException ex)
        {
            return;
        }
        final float[] w = ConvHarness.randomArray(random, p.outChannels() * p.inChannelsPerGroup() * p.kernelH() *
            p.kernelW());
        final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, p.outChannels()) : null;
        final Activation activation = ConvHarness.randomActivation(random);
        final ConvKernel kernel = winograd ? new WinogradConv2d(p, w, bias, activation) :
            ConvKernel.create(p, w, bias, activation);
        assertTrue(kernel.addsResidual(), kernel.getClass().getSimpleName());
        final ConvHarness.Case c = ConvHarness.convResidual(kernel, w, bias, activation, inH, inW, random);
        final int[] range = ConvHarness.randomRange(random, c.outH());
        ConvHarness.runAndCheck(c, range[0], range[1], random);
    }
}
