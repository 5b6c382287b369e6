package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class DepthwiseConv2dTest
{
    @Test
    void shouldBeChosenForDepthwiseParameters()
    {
        final ConvParams p = ConvParams.conv(8, 8, 3, 3).groups(8).pad(1).build();
        final ConvKernel kernel = ConvKernel.create(p, new float[8 * 9], null, Activation.NONE);
        assertInstanceOf(DepthwiseConv2d.class, kernel);
        assertEquals(0, kernel.scratchFloats(17));
        assertInstanceOf(Conv2d.class,
            ConvKernel.create(ConvParams.conv(8, 16, 3, 3).groups(8).build(), new float[16 * 9], null,
            Activation.NONE));
        assertThrows(IllegalArgumentException.class,
            () -> new DepthwiseConv2d(ConvParams.conv(8, 8, 3, 3).groups(4).build(), new float[8 * 2 * 9], null,
            Activation.NONE));
    }

    @Test
    void shouldMatchReferenceOnRandomShapesAndRowRanges()
    {
        final SplittableRandom random = new SplittableRandom(31);
        int cases = 0;
        while (cases < 300)
        {
            final int channels = 1 + random.nextInt(40);
            final boolean threeByThree = random.nextInt(3) > 0;
            final ConvParams p = ConvParams.conv(channels, channels,
                threeByThree ? 3 : 1 + random.nextInt(7), threeByThree ? 3 : 1 + random.nextInt(7))
                .groups(channels)
                .stride(1 + random.nextInt(3), 1 + random.nextInt(3))
                .dilation(1 + random.nextInt(2), 1 + random.nextInt(2))
                .pads(random.nextInt(4), random.nextInt(4), random.nextInt(4), random.nextInt(4))
                .build();
            final int inH = 1 + random.nextInt(14);
            final int inW = 1 + random.nextInt(14);
            final int outH;
            try
            {
                outH = p.outputHeight(inH);
                p.outputWidth(inW);
            }
            catch (final IllegalArgumentException ex)
            {
                continue;
            }
            final float[] weights = ConvHarness.randomArray(random, channels * p.kernelH() * p.kernelW());
            final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, channels) : null;
            final Activation activation = ConvHarness.randomActivation(random);
            // the plain loop and the Vector API loop on the same case
            for (final boolean vector : new boolean[]{ false, true })
            {
                final ConvKernel kernel = new DepthwiseConv2d(p, weights, bias, activation, vector);
                final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, activation, inH, inW, random);
                final int[] range = ConvHarness.randomRange(random, outH);
                ConvHarness.runAndCheck(c, range[0], range[1], random);
            }
            cases++;
        }
    }

    @Test
    void shouldMatchReferenceOnMobileNetLikeLayers()
    {
        final SplittableRandom random = new SplittableRandom(32);
        final ConvParams[] layers = {
            ConvParams.conv(32, 32, 3, 3).groups(32).pad(1).build(),
            ConvParams.conv(96, 96, 3, 3).groups(96).stride(2, 2).pads(0, 0, 1, 1).build(),
            ConvParams.conv(40, 40, 5, 5).groups(40).pad(2).build()
        };
        for (final ConvParams p : layers)
        {
            final int c = p.inChannels();
            final float[] weights = ConvHarness.randomArray(random, c * p.kernelH() * p.kernelW());
            final float[] bias = ConvHarness.randomArray(random, c);
            final Activation relu6 = Activation.clip(0f, 6f);
            for (final boolean vector : new boolean[]{ false, true })
            {
                final ConvKernel kernel = new DepthwiseConv2d(p, weights, bias, relu6, vector);
                final ConvHarness.Case mapCase = ConvHarness.conv(kernel, weights, bias, relu6, 20, 18, random);
                ConvHarness.runAndCheck(mapCase, 0, mapCase.outH(), random);
                ConvHarness.runAndCheck(mapCase, 3, 7, random);
            }
        }
    }

    @Test
    void shouldStageEachCallsOwnInputRows()
    {
        // the staged rows are kept between output rows of one call: a second call on the same thread (another input,
        // another layer of the same width) must not reuse them
        final SplittableRandom random = new SplittableRandom(33);
        final ConvParams p = ConvParams.conv(24, 24, 3, 3).groups(24).pad(1).build();
        final ConvParams strided = ConvParams.conv(24, 24, 3, 3).groups(24).stride(2, 2).pad(1).build();
        for (final boolean vector : new boolean[]{ false, true })
        {
            final float[] weights = ConvHarness.randomArray(random, 24 * 9);
            final ConvKernel kernel = new DepthwiseConv2d(p, weights, null, Activation.NONE, vector);
            final ConvKernel other = new DepthwiseConv2d(strided, weights, null, Activation.NONE, vector);
            final ConvHarness.Case a = ConvHarness.conv(kernel, weights, null, Activation.NONE, 12, 10, random);
            final ConvHarness.Case b = ConvHarness.conv(kernel, weights, null, Activation.NONE, 12, 10, random);
            final ConvHarness.Case c = ConvHarness.conv(other, weights, null, Activation.NONE, 12, 10, random);
            // each call starts on the input rows the previous call ended on
            ConvHarness.runAndCheck(a, 0, 5, random);
            ConvHarness.runAndCheck(b, 4, 8, random);
            ConvHarness.runAndCheck(a, 7, 12, random);
            ConvHarness.runAndCheck(b, 11, 12, random);
            ConvHarness.runAndCheck(c, 5, 6, random);
            ConvHarness.runAndCheck(a, 0, a.outH(), random);
        }
    }

    @Test
    void shouldRunTheVectorLoopByDefaultWhereTheJvmHasTheModule()
    {
        // the build runs tests as the launcher runs the engine: with --add-modules jdk.incubator.vector
        assertTrue(DepthwiseConv2d.vectorAvailable(), "tests run without the Vector API module");
        final ConvParams p = ConvParams.conv(8, 8, 3, 3).groups(8).pad(1).build();
        final DepthwiseConv2d kernel = new DepthwiseConv2d(p, new float[8 * 9], null, Activation.NONE);
        assertEquals(DepthwiseConv2d.vectorByDefault(), kernel.usesVector());
        assertFalse(new DepthwiseConv2d(p, new float[8 * 9], null, Activation.NONE, false).usesVector());
    }
}
