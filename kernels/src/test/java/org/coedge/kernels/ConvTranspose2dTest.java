package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ConvTranspose2dTest
{
    @Test
    void shouldMatchReferenceOnRandomShapesAndRowRanges()
    {
        final SplittableRandom random = new SplittableRandom(41);
        int cases = 0;
        while (cases < 300)
        {
            final int groups = 1 + random.nextInt(2);
            final int strideH = 1 + random.nextInt(3);
            final int strideW = 1 + random.nextInt(3);
            final int dilationH = 1 + random.nextInt(2);
            final int dilationW = 1 + random.nextInt(2);
            final ConvParams p = ConvParams.transpose(groups * (1 + random.nextInt(4)),
                groups * (1 + random.nextInt(4)), 1 + random.nextInt(5), 1 + random.nextInt(5))
                .groups(groups)
                .stride(strideH, strideW)
                .dilation(dilationH, dilationW)
                .pads(random.nextInt(3), random.nextInt(3), random.nextInt(3), random.nextInt(3))
                .outputPadding(
                    random.nextInt(Math.max(strideH, dilationH)), random.nextInt(Math.max(strideW, dilationW)))
                .build();
            final int inH = 1 + random.nextInt(8);
            final int inW = 1 + random.nextInt(8);
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
            final float[] weights = ConvHarness.randomArray(random,
                p.inChannels() * p.outChannelsPerGroup() * p.kernelH() * p.kernelW());
            final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, p.outChannels()) : null;
            final Activation activation = ConvHarness.randomActivation(random);
            final ConvKernel kernel = ConvKernel.createTranspose(p, weights, bias, activation);
            final ConvHarness.Case c = ConvHarness.convTranspose(kernel, weights, bias, activation, inH, inW, random);
            final int[] range = ConvHarness.randomRange(random, outH);
            ConvHarness.runAndCheck(c, range[0], range[1], random);
            cases++;
        }
    }

    @Test
    void shouldComputeRowsNoInputRowReaches()
    {
        final SplittableRandom random = new SplittableRandom(42);
        final ConvParams p = ConvParams.transpose(3, 2, 1, 1).stride(3, 1).build();
        final float[] weights = ConvHarness.randomArray(random, 3 * 2);
        final float[] bias = { 0.25f, -0.5f };
        final ConvKernel kernel = ConvKernel.createTranspose(p, weights, bias, Activation.RELU);
        final ConvHarness.Case c = ConvHarness.convTranspose(kernel, weights, bias, Activation.RELU, 4, 5, random);
        assertEquals(p.firstInputRow(1, 3), p.endInputRow(1, 3));
        ConvHarness.runAndCheck(c, 1, 3, random);
        ConvHarness.runAndCheck(c, 0, c.outH(), random);
    }

    @Test
    void shouldComputeRangesNeedingSeveralGemmChunks()
    {
        final SplittableRandom random = new SplittableRandom(43);
        final ConvParams p = ConvParams.transpose(4, 6, 4, 3).groups(2).stride(2, 2).pads(1, 1, 2, 0)
            .outputPadding(1, 1).build();
        final float[] weights = ConvHarness.randomArray(random, 4 * 3 * 4 * 3);
        final float[] bias = ConvHarness.randomArray(random, 6);
        final int inW = 7;
        final int rowFloats = inW * 4 * 3 * 3;
        for (final int chunkRows : new int[]{ 1, 2, 3 })
        {
            final ConvTranspose2d kernel =
                new ConvTranspose2d(p, weights, bias, Activation.NONE, chunkRows * rowFloats + rowFloats / 2);
            assertEquals(chunkRows * rowFloats, kernel.scratchFloats(inW));
            assertEquals(Math.min(chunkRows, 2) * rowFloats, kernel.scratchFloats(inW, 1));
            final ConvHarness.Case c =
                ConvHarness.convTranspose(kernel, weights, bias, Activation.NONE, 9, inW, random);
            ConvHarness.runAndCheck(c, 0, c.outH(), random);
            ConvHarness.runAndCheck(c, 2, c.outH() - 3, random);
            ConvHarness.runAndCheck(c, 5, 6, random);
        }
    }

    @Test
    void shouldMatchReferenceWhereWindowsDoNotOverlap()
    {
        final SplittableRandom random = new SplittableRandom(44);
        // the 2x2 stride-2 upsamplings of a text-detection head (24 -> 24, 24 -> 1 with sigmoid), and odd shapes
        final ConvParams[] layers = {
            ConvParams.transpose(24, 24, 2, 2).stride(2, 2).build(),
            ConvParams.transpose(24, 1, 2, 2).stride(2, 2).build(),
            ConvParams.transpose(5, 3, 3, 2).stride(3, 2).build(),
            ConvParams.transpose(2, 7, 1, 3).stride(1, 3).build()
        };
        final Activation[] activations = { Activation.RELU, Activation.of(Activation.Kind.SIGMOID, 0f, 0f),
            Activation.NONE, Activation.clip(0f, 6f), Activation.RELU.withAffine(0.5f, 0.25f) };
        for (int i = 0; i < layers.length; i++)
        {
            final ConvParams p = layers[i];
            final float[] weights = ConvHarness.randomArray(random,
                p.inChannels() * p.outChannelsPerGroup() * p.kernelH() * p.kernelW());
            final float[] bias = ConvHarness.randomArray(random, p.outChannels());
            final ConvTranspose2d kernel = new ConvTranspose2d(p, weights, bias, activations[i]);
            assertTrue(kernel.disjointWindows(), p.toString());
            assertEquals(0, kernel.scratchFloats(9));
            final ConvHarness.Case c = ConvHarness.convTranspose(kernel, weights, bias, activations[i], 7, 9, random);
            ConvHarness.runAndCheck(c, 0, c.outH(), random);
            // row slices, also ones that start or end inside an input row's pair of output rows
            for (int r = 0; r < 6; r++)
            {
                final int[] range = ConvHarness.randomRange(random, c.outH());
                ConvHarness.runAndCheck(c, range[0], range[1], random);
            }
            ConvHarness.runAndCheck(c, 3, 4, random);
        }
        // overlapping windows, pads or output padding keep the scatter path
        assertFalse(new ConvTranspose2d(ConvParams.transpose(2, 2, 3, 3).stride(2, 2).build(),
            new float[2 * 2 * 9], null, Activation.NONE).disjointWindows());
        assertFalse(new ConvTranspose2d(ConvParams.transpose(2, 2, 2, 2).stride(2, 2).pads(1, 0, 0, 0).build(),
            new float[2 * 2 * 4], null, Activation.NONE).disjointWindows());
        assertFalse(new ConvTranspose2d(ConvParams.transpose(2, 2, 2, 2).stride(2, 2).outputPadding(1, 0).build(),
            new float[2 * 2 * 4], null, Activation.NONE).disjointWindows());
    }
}
