package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
