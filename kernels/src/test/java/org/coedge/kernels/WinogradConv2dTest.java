package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Winograd F(4x4, 3x3) against the naive reference convolution over random shapes, pads, activations and row ranges,
 * each computed from an input view holding only the rows its tiles read (NaN around them) into an output window
 * guarded by sentinels (nothing outside the range written). Tolerance: max abs error / max |reference| <= 1e-5, as
 * for the im2col kernel; F(4x4, 3x3)'s transforms grow the rounding error by about 10x over a direct dot product.
 */
class WinogradConv2dTest
{
    @Test
    void shouldMatchReferenceOnRandomShapesAndRowRanges()
    {
        final SplittableRandom random = new SplittableRandom(41);
        double worst = 0;
        for (int trial = 0; trial < 60; trial++)
        {
            final int cin = 1 + random.nextInt(trial < 30 ? 9 : 70);
            final int cout = 1 + random.nextInt(trial < 30 ? 9 : 70);
            final int inH = 1 + random.nextInt(23);
            final int inW = 1 + random.nextInt(23);
            final int pt = random.nextInt(3);
            final int pl = random.nextInt(3);
            final int pb = random.nextInt(3);
            final int pr = random.nextInt(3);
            if (inH + pt + pb < 3 || inW + pl + pr < 3)
            {
                continue;
            }
            final ConvParams p = ConvParams.conv(cin, cout, 3, 3).pads(pt, pl, pb, pr).build();
            final float[] weights = ConvHarness.randomArray(random, cout * cin * 9);
            final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, cout) : null;
            final Activation act = random.nextBoolean() ? Activation.RELU : Activation.NONE;
            final WinogradConv2d kernel = new WinogradConv2d(p, weights, bias, act);
            final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, act, inH, inW, random);
            final int outH = c.outH();
            worst = Math.max(worst, ConvHarness.runAndCheck(c, 0, outH, random));
            final int h0 = random.nextInt(outH);
            final int h1 = h0 + 1 + random.nextInt(outH - h0);
            worst = Math.max(worst, ConvHarness.runAndCheck(c, h0, h1, random));
        }
        System.out.printf("Winograd F(4x4, 3x3) vs reference: worst max abs error / max |ref| = %.3g%n", worst);
    }

    /**
     * Maps of 130 to 300 tiles: several chunks of tiles, chunk ends inside a tile row, blocks of tiles cut by the
     * row's end, channel counts that leave a vector tail; with and without a residual.
     */
    @Test
    void shouldMatchReferenceAcrossChunksOfTiles()
    {
        final SplittableRandom random = new SplittableRandom(43);
        double worst = 0;
        for (int trial = 0; trial < 6; trial++)
        {
            final int cin = 16 + random.nextInt(24);
            final int cout = 16 + random.nextInt(24);
            final int inH = 45 + random.nextInt(25);
            final int inW = 45 + random.nextInt(25);
            final ConvParams p = ConvParams.conv(cin, cout, 3, 3).pads(1, 1, 1, 1).build();
            final float[] weights = ConvHarness.randomArray(random, cout * cin * 9);
            final float[] bias = ConvHarness.randomArray(random, cout);
            final Activation act = ConvHarness.randomActivation(random);
            final WinogradConv2d kernel = new WinogradConv2d(p, weights, bias, act);
            final ConvHarness.Case c = trial % 2 == 0 ?
                ConvHarness.conv(kernel, weights, bias, act, inH, inW, random) :
                ConvHarness.convResidual(kernel, weights, bias, act, inH, inW, random);
            worst = Math.max(worst, ConvHarness.runAndCheck(c, 0, c.outH(), random));
            final int[] range = ConvHarness.randomRange(random, c.outH());
            worst = Math.max(worst, ConvHarness.runAndCheck(c, range[0], range[1], random));
        }
        System.out.printf("Winograd F(4x4, 3x3) over several chunks vs reference: worst relative error %.3g%n", worst);
    }

    /** The Vector API transforms compute the plain loops' expressions in the same order: the same bits. */
    @Test
    void shouldGiveTheSameBitsOnTheVectorAndThePlainTransforms()
    {
        assumeTrue(DepthwiseConv2d.vectorAvailable(), "the JVM has no jdk.incubator.vector");
        final SplittableRandom random = new SplittableRandom(47);
        for (int trial = 0; trial < 8; trial++)
        {
            final int cin = 1 + random.nextInt(70);
            final int cout = 1 + random.nextInt(70);
            final int inH = 3 + random.nextInt(40);
            final int inW = 3 + random.nextInt(40);
            final ConvParams p = ConvParams.conv(cin, cout, 3, 3).pads(1, 1, 1, 1).build();
            final float[] weights = ConvHarness.randomArray(random, cout * cin * 9);
            final float[] bias = ConvHarness.randomArray(random, cout);
            final Activation act = ConvHarness.randomActivation(random);
            final WinogradConv2d vector = new WinogradConv2d(p, weights, bias, act, RegionAllocator.COLLECTED, true);
            final WinogradConv2d plain = new WinogradConv2d(p, weights, bias, act, RegionAllocator.COLLECTED, false);
            assertTrue(vector.usesVector());
            assertFalse(plain.usesVector());
            final float[] a = run(vector, inH, inW, new SplittableRandom(trial));
            final float[] b = run(plain, inH, inW, new SplittableRandom(trial));
            for (int i = 0; i < a.length; i++)
            {
                assertEquals(Float.floatToIntBits(b[i]), Float.floatToIntBits(a[i]),
                    "float " + i + " of " + p + " on " + inH + "x" + inW + ": " + a[i] + " vs " + b[i]);
            }
        }
    }

    /** @return the whole output of {@code kernel} on a random {@code inH x inW} input drawn from {@code random}. */
    private static float[] run(final WinogradConv2d kernel, final int inH, final int inW,
        final SplittableRandom random)
    {
        final ConvParams p = kernel.params();
        final FloatRegion in = FloatRegion.allocate(inH * inW * p.inChannels());
        in.floats().put(0, ConvHarness.randomArray(random, inH * inW * p.inChannels()));
        final int outH = p.outputHeight(inH);
        final int outW = p.outputWidth(inW);
        final FloatRegion out = FloatRegion.allocate(outH * outW * p.outChannels());
        final FloatRegion scratch = FloatRegion.allocate(Math.max(1, kernel.scratchFloats(inW, outH)));
        kernel.forward(MapView.of(in, 0, inH, inW, p.inChannels()), MapView.of(out, 0, outH, outW, p.outChannels()),
            0, outH, scratch, 0);
        final float[] result = new float[out.length()];
        out.floats().get(0, result);
        return result;
    }

    @Test
    void shouldReadTheRowsOfWholeTilesAnchoredAtRowZero()
    {
        final ConvParams p = ConvParams.conv(4, 4, 3, 3).pads(1, 1, 1, 1).build();
        // output rows [5, 6) lie in tile rows [4, 8), which read input rows [3, 10)
        assertEquals(3, WinogradConv2d.firstInputRow(p, 5, 6, 20));
        assertEquals(9, WinogradConv2d.endInputRow(p, 5, 6, 20));
        assertEquals(0, WinogradConv2d.firstInputRow(p, 0, 3, 20));
        assertEquals(5, WinogradConv2d.endInputRow(p, 0, 3, 20));
        assertEquals(20, WinogradConv2d.endInputRow(p, 17, 20, 20));
    }

    @Test
    void shouldRefuseWhatItCannotCompute()
    {
        assertTrue(WinogradConv2d.supports(ConvParams.conv(8, 8, 3, 3).pads(1, 1, 1, 1).build()));
        assertFalse(WinogradConv2d.supports(ConvParams.conv(8, 8, 3, 3).stride(2, 2).build()));
        assertFalse(WinogradConv2d.supports(ConvParams.conv(8, 8, 5, 5).build()));
        assertFalse(WinogradConv2d.supports(ConvParams.conv(8, 8, 3, 3).groups(2).build()));
        assertThrows(IllegalArgumentException.class, () -> new WinogradConv2d(
            ConvParams.conv(8, 8, 3, 3).dilation(2, 2).build(), new float[8 * 8 * 9], null, Activation.NONE));
    }
}
