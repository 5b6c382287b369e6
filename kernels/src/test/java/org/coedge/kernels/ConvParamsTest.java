package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ConvParamsTest
{
    @Test
    void shouldComputeConvOutputSizesOfKnownLayers()
    {
        final ConvParams resnetStem = ConvParams.conv(3, 64, 7, 7).stride(2, 2).pad(3).build();
        assertEquals(112, resnetStem.outputHeight(224));
        assertEquals(112, resnetStem.outputWidth(224));

        final ConvParams same3x3 = ConvParams.conv(64, 64, 3, 3).pad(1).build();
        assertEquals(56, same3x3.outputHeight(56));

        final ConvParams dilated = ConvParams.conv(8, 8, 3, 3).dilation(2, 2).pad(2).build();
        assertEquals(10, dilated.outputHeight(10));

        final ConvParams asymmetric = ConvParams.conv(3, 32, 3, 3).stride(2, 2).pads(0, 0, 1, 1).build();
        assertEquals(112, asymmetric.outputHeight(224));
        assertEquals(4, ConvParams.conv(1, 1, 2, 5).pads(1, 0, 0, 2).build().outputWidth(6));
    }

    @Test
    void shouldComputeConvOutputSizeAsNumberOfWindowPositions()
    {
        final SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 500; trial++)
        {
            final int k = 1 + random.nextInt(7);
            final int s = 1 + random.nextInt(3);
            final int d = 1 + random.nextInt(2);
            final int pBegin = random.nextInt(4);
            final int pEnd = random.nextInt(4);
            final int in = 1 + random.nextInt(20);
            final ConvParams p = ConvParams.conv(1, 1, k, 1).stride(s, 1).dilation(d, 1).pads(pBegin, 0, pEnd, 0)
                .build();
            int positions = 0;
            while (positions * s + (k - 1) * d <= in + pBegin + pEnd - 1)
            {
                positions++;
            }
            if (positions == 0)
            {
                assertThrows(IllegalArgumentException.class, () -> p.outputHeight(in));
            }
            else
            {
                assertEquals(positions, p.outputHeight(in), p + " on " + in);
            }
        }
    }

    @Test
    void shouldComputeTransposeOutputSizesOfKnownLayers()
    {
        final ConvParams upsample = ConvParams.transpose(64, 32, 4, 4).stride(2, 2).pad(1).build();
        assertEquals(14, upsample.outputHeight(7));
        final ConvParams withOutputPadding = ConvParams.transpose(8, 8, 3, 3).stride(2, 2).pad(1)
            .outputPadding(1, 1).build();
        assertEquals(14, withOutputPadding.outputHeight(7));
        assertEquals(13, ConvParams.transpose(8, 8, 3, 3).stride(2, 2).pad(1).build().outputHeight(7));
        assertEquals(9, ConvParams.transpose(1, 1, 3, 3).build().outputWidth(7));
        assertEquals(11, ConvParams.transpose(1, 1, 3, 3).dilation(2, 2).build().outputWidth(7));
    }

    @Test
    void shouldMatchBruteForceConvInputRows()
    {
        final SplittableRandom random = new SplittableRandom(12);
        for (int trial = 0; trial < 300; trial++)
        {
            final int k = 1 + random.nextInt(7);
            final int s = 1 + random.nextInt(3);
            final int d = 1 + random.nextInt(2);
            final int pTop = random.nextInt(4);
            final int in = (k - 1) * d + 1 + random.nextInt(12);
            final ConvParams p = ConvParams.conv(1, 1, k, 1).stride(s, 1).dilation(d, 1)
                .pads(pTop, 0, random.nextInt(4), 0).build();
            final int outH = p.outputHeight(in);
            for (int o0 = 0; o0 < outH; o0++)
            {
                for (int o1 = o0 + 1; o1 <= outH; o1++)
                {
                    int min = Integer.MAX_VALUE;
                    int max = Integer.MIN_VALUE;
                    for (int o = o0; o < o1; o++)
                    {
                        for (int kh = 0; kh < k; kh++)
                        {
                            final int i = o * s - pTop + kh * d;
                            min = Math.min(min, i);
                            max = Math.max(max, i);
                        }
                    }
                    assertEquals(min, p.firstInputRow(o0, o1));
                    assertEquals(max + 1, p.endInputRow(o0, o1));
                    assertClippedCovers(p, o0, o1, in, min, max + 1);
                }
            }
        }
    }

    @Test
    void shouldMatchBruteForceTransposeInputRows()
    {
        final SplittableRandom random = new SplittableRandom(13);
        int emptyRanges = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            final int k = 1 + random.nextInt(6);
            final int s = 1 + random.nextInt(3);
            final int d = 1 + random.nextInt(3);
            final int pTop = random.nextInt(4);
            final int in = 1 + random.nextInt(10);
            final ConvParams p = ConvParams.transpose(1, 1, k, 1).stride(s, 1).dilation(d, 1)
                .pads(pTop, 0, random.nextInt(2), 0).outputPadding(random.nextInt(s), 0).build();
            final int outH;
            try
            {
                outH = p.outputHeight(in);
            }
            catch (final IllegalArgumentException ex)
            {
                continue;
            }
            for (int o0 = 0; o0 < outH; o0++)
            {
                for (int o1 = o0 + 1; o1 <= outH; o1++)
                {
                    int min = Integer.MAX_VALUE;
                    int max = Integer.MIN_VALUE;
                    for (int i = -40; i < 80; i++)
                    {
                        for (int kh = 0; kh < k; kh++)
                        {
                            final int o = i * s - pTop + kh * d;
                            if (o >= o0 && o < o1)
                            {
                                min = Math.min(min, i);
                                max = Math.max(max, i);
                            }
                        }
                    }
                    if (min == Integer.MAX_VALUE)
                    {
                        emptyRanges++;
                        assertEquals(p.firstInputRow(o0, o1), p.endInputRow(o0, o1), p + " [" + o0 + ", " + o1 + ")");
                        assertEquals(p.firstInputRowClipped(o0, o1, in), p.endInputRowClipped(o0, o1, in));
                    }
                    else
                    {
                        assertEquals(min, p.firstInputRow(o0, o1), p + " [" + o0 + ", " + o1 + ")");
                        assertEquals(max + 1, p.endInputRow(o0, o1), p + " [" + o0 + ", " + o1 + ")");
                        assertClippedCovers(p, o0, o1, in, min, max + 1);
                    }
                }
            }
        }
        assertTrue(emptyRanges > 0, "no case had an output range without contributing input rows");
    }

    @Test
    void shouldRefuseInvalidParameters()
    {
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(0, 1, 3, 3).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(6, 4, 3, 3).groups(4).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 6, 3, 3).groups(4).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 4, 0, 3).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 4, 3, 3).stride(0, 1).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 4, 3, 3).dilation(1, 0).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 4, 3, 3).pads(0, -1, 0, 0).build());
        assertThrows(IllegalArgumentException.class, () -> ConvParams.conv(4, 4, 3, 3).outputPadding(1, 0).build());
        assertThrows(IllegalArgumentException.class,
            () -> ConvParams.transpose(4, 4, 3, 3).outputPadding(-1, 0).build());
        final ConvParams p = ConvParams.conv(4, 4, 5, 5).build();
        assertThrows(IllegalArgumentException.class, () -> p.outputHeight(4));
        assertThrows(IllegalArgumentException.class, () -> p.outputWidth(0));
        assertThrows(IllegalArgumentException.class, () -> p.firstInputRow(3, 3));
        final ConvParams cropsEverything = ConvParams.transpose(1, 1, 1, 1).pad(1).build();
        assertThrows(IllegalArgumentException.class, () -> cropsEverything.outputHeight(2));
    }

    @Test
    void shouldRecogniseDepthwiseAndPointwise()
    {
        assertTrue(ConvParams.conv(8, 8, 3, 3).groups(8).build().isDepthwise());
        assertFalse(ConvParams.conv(8, 16, 3, 3).groups(8).build().isDepthwise());
        assertFalse(ConvParams.transpose(8, 8, 3, 3).groups(8).build().isDepthwise());
        assertTrue(ConvParams.conv(8, 16, 1, 1).groups(2).dilation(2, 2).build().isPointwise());
        assertFalse(ConvParams.conv(8, 16, 1, 1).stride(2, 2).build().isPointwise());
        assertFalse(ConvParams.conv(8, 16, 1, 1).pads(0, 0, 0, 1).build().isPointwise());
    }

    /** The clipped range is the unclipped one cut to the map, and holds every needed row inside the map. */
    private static void assertClippedCovers(
        final ConvParams p, final int o0, final int o1, final int in, final int first, final int end)
    {
        final int clippedFirst = p.firstInputRowClipped(o0, o1, in);
        final int clippedEnd = p.endInputRowClipped(o0, o1, in);
        final int expectedFirst = Math.min(Math.max(first, 0), in);
        assertEquals(expectedFirst, clippedFirst);
        assertEquals(Math.max(expectedFirst, Math.min(end, in)), clippedEnd);
        assertTrue(0 <= clippedFirst && clippedFirst <= clippedEnd && clippedEnd <= in);
        for (int row = Math.max(first, 0); row < Math.min(end, in); row++)
        {
            assertTrue(row >= clippedFirst && row < clippedEnd);
        }
    }
}
