package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class Conv2dTest
{
    @Test
    void shouldMatchReferenceOnRandomShapesAndRowRanges()
    {
        final SplittableRandom random = new SplittableRandom(21);
        int cases = 0;
        while (cases < 300)
        {
            final int groups = 1 + random.nextInt(2);
            final ConvParams p = ConvParams.conv(groups * (1 + random.nextInt(5)), groups * (1 + random.nextInt(5)),
                1 + random.nextInt(7), 1 + random.nextInt(7))
                .groups(groups)
                .stride(1 + random.nextInt(3), 1 + random.nextInt(3))
                .dilation(1 + random.nextInt(2), 1 + random.nextInt(2))
                .pads(random.nextInt(4), random.nextInt(4), random.nextInt(4), random.nextInt(4))
                .build();
            if (runRandomCase(p, random, false))
            {
                cases++;
            }
        }
    }

    @Test
    void shouldMatchReferenceOnBothSidesOfTheStagedIm2colBound()
    {
        // fewer than STAGED_IM2COL_MAX_CHANNELS input channels per group build im2col rows on heap, more copy runs
        // between direct buffers: random strides, dilations, pads and groups on both sides of the bound
        final SplittableRandom random = new SplittableRandom(28);
        int cases = 0;
        while (cases < 40)
        {
            final int groups = random.nextInt(3) == 0 ? 2 : 1;
            final int cinG = Conv2d.STAGED_IM2COL_MAX_CHANNELS - 4 + random.nextInt(9);
            final ConvParams p = ConvParams.conv(groups * cinG, groups * (1 + random.nextInt(6)),
                1 + random.nextInt(4), 2 + random.nextInt(3))
                .groups(groups)
                .stride(1 + random.nextInt(2), 1 + random.nextInt(2))
                .dilation(1 + random.nextInt(2), 1 + random.nextInt(2))
                .pads(random.nextInt(3), random.nextInt(3), random.nextInt(3), random.nextInt(3))
                .build();
            if (runRandomCase(p, random, groups > 1))
            {
                cases++;
            }
        }
    }

    @Test
    void shouldMatchReferenceOnDepthwiseAndMultiplierThroughGroupedPath()
    {
        final SplittableRandom random = new SplittableRandom(22);
        int cases = 0;
        while (cases < 80)
        {
            final int channels = 1 + random.nextInt(6);
            final int multiplier = 1 + random.nextInt(3);
            final int k = 1 + random.nextInt(5);
            final ConvParams p = ConvParams.conv(channels, channels * multiplier, k, k)
                .groups(channels)
                .stride(1 + random.nextInt(2), 1 + random.nextInt(2))
                .pads(random.nextInt(3), random.nextInt(3), random.nextInt(3), random.nextInt(3))
                .build();
            if (runRandomCase(p, random, true))
            {
                cases++;
            }
        }
    }

    @Test
    void shouldUsePointwisePathWithScratchOnlyForTheFlippedProduct()
    {
        final SplittableRandom random = new SplittableRandom(23);
        for (int groups = 1; groups <= 2; groups++)
        {
            final ConvParams p = ConvParams.conv(6, 8, 1, 1).groups(groups).build();
            final float[] weights = ConvHarness.randomArray(random, p.outChannels() * p.inChannelsPerGroup());
            final float[] bias = ConvHarness.randomArray(random, p.outChannels());
            final Conv2d kernel = new Conv2d(p, weights, bias, Activation.RELU);
            assertEquals(Conv2d.FLIP_MAX_PIXELS * p.outChannelsPerGroup(), kernel.scratchFloats(9));
            assertEquals(3 * 9 * p.outChannelsPerGroup(), kernel.scratchFloats(9, 3));
            final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, Activation.RELU, 11, 9, random);
            ConvHarness.runAndCheck(c, 0, 11, random);
            ConvHarness.runAndCheck(c, 3, 8, random);
            final MapView in = ConvHarness.minimalInput(c, 2, 5, random);
            final FloatRegion outRegion = FloatRegion.allocate(11 * 9 * 8);
            final FloatRegion scratch = FloatRegion.allocate(kernel.scratchFloats(9, 3));
            kernel.forward(in, MapView.of(outRegion, 0, 11, 9, 8), 2, 5, scratch, 0);
            assertTrue(ConvHarness.relativeError(c.expected, 2 * 9 * 8, outRegion, 2 * 9 * 8, 3 * 9 * 8) <=
                ConvHarness.TOLERANCE);
        }
    }

    @Test
    void shouldChunkPointwiseEpilogueOverLargeRanges()
    {
        final SplittableRandom random = new SplittableRandom(24);
        final ConvParams p = ConvParams.conv(4, 64, 1, 1).build();
        final float[] weights = ConvHarness.randomArray(random, 64 * 4);
        final float[] bias = ConvHarness.randomArray(random, 64);
        final Activation clip = Activation.clip(0f, 6f);
        final Conv2d kernel = new Conv2d(p, weights, bias, clip);
        final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, clip, 70, 64, random);
        ConvHarness.runAndCheck(c, 0, 70, random);
        ConvHarness.runAndCheck(c, 1, 69, random);
    }

    @Test
    void shouldComputeRangesNeedingSeveralIm2colChunks()
    {
        final SplittableRandom random = new SplittableRandom(25);
        final ConvParams p = ConvParams.conv(4, 6, 3, 3).stride(1, 2).pads(1, 2, 0, 1).build();
        final float[] weights = ConvHarness.randomArray(random, 6 * 4 * 9);
        final float[] bias = ConvHarness.randomArray(random, 6);
        final int inW = 9;
        final int outW = p.outputWidth(inW);
        final int rowFloats = outW * 9 * 4;
        for (final int chunkRows : new int[]{ 1, 2, 3 })
        {
            final Conv2d kernel = new Conv2d(p, weights, bias, Activation.NONE, chunkRows * rowFloats + rowFloats / 2);
            // the im2col chunk, then room for the flipped product of up to FLIP_MAX_PIXELS pixels x 6 channels
            assertEquals(chunkRows * rowFloats + Math.min(Conv2d.FLIP_MAX_PIXELS, chunkRows * outW) * 6,
                kernel.scratchFloats(inW));
            assertEquals(rowFloats + outW * 6, kernel.scratchFloats(inW, 1));
            assertEquals(0, kernel.scratchFloats(inW, 0));
            final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, Activation.NONE, 12, inW, random);
            ConvHarness.runAndCheck(c, 0, c.outH(), random);
            ConvHarness.runAndCheck(c, 1, c.outH() - 1, random);
            ConvHarness.runAndCheck(c, 4, 5, random);
        }
    }

    @Test
    void shouldComputeMobileNetLikeStemAndResNetLikeBlock()
    {
        final SplittableRandom random = new SplittableRandom(26);
        final ConvParams stem = ConvParams.conv(3, 16, 3, 3).stride(2, 2).pads(0, 0, 1, 1).build();
        final ConvParams block = ConvParams.conv(16, 24, 3, 3).pad(1).build();
        for (final ConvParams p : new ConvParams[]{ stem, block })
        {
            final float[] weights = ConvHarness.randomArray(random, p.outChannels() * p.inChannels() * 9);
            final float[] bias = ConvHarness.randomArray(random, p.outChannels());
            final ConvKernel kernel = ConvKernel.create(p, weights, bias, Activation.RELU);
            final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, Activation.RELU, 32, 30, random);
            ConvHarness.runAndCheck(c, 0, c.outH(), random);
            ConvHarness.runAndCheck(c, 5, 11, random);
        }
    }

    @Test
    void shouldApplyEpilogueAcrossStagingPiecesAndWideLayers()
    {
        final SplittableRandom random = new SplittableRandom(27);
        final Activation[] activations = {
            Activation.NONE, Activation.RELU, Activation.clip(-0.3f, 0.4f), Activation.leakyRelu(0.2f),
            Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f), Activation.of(Activation.Kind.SIGMOID, 0f, 0f),
            // with affine tails (PP-OCR's scalar Mul and Add after the activation)
            Activation.NONE.withAffine(1.5f, -0.25f), Activation.RELU.withAffine(0.75f, 0.5f),
            Activation.clip(-0.3f, 0.4f).withAffine(-2f, 1f),
            Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f).withAffine(1.25f, -0.125f),
            Activation.of(Activation.Kind.SIGMOID, 0f, 0f).withAffine(0.5f, 0.5f) };
        for (final int channels : new int[]{ 1, 7, 4096, 5000 })
        {
            for (final Activation activation : activations)
            {
                // the staged plain loop and the Vector API loop (none, ReLU, clip, hard swish, sigmoid) on the same data
                for (final boolean vector : new boolean[]{ false, true })
                {
                    final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, channels) : null;
                    final Epilogue epilogue = new Epilogue(bias, channels, activation, vector);
                    final int pixels = 3 * 4096 / channels + 2;
                    final int offset = channels * random.nextInt(3);
                    final float[] x = ConvHarness.randomArray(random, offset + pixels * channels + 5);
                    final FloatRegion region = FloatRegion.allocate(x.length);
                    region.put(0, x);
                    // half the time with a residual: a map of one pixel per row, its rows from 1 on added
                    final boolean withResidual = random.nextBoolean();
                    final float[] r = ConvHarness.randomArray(random, (pixels + 1) * channels);
                    final FloatRegion rRegion = FloatRegion.allocate(r.length + 3);
                    rRegion.floats().put(3, r);
                    final MapView residual = withResidual ?
                        MapView.of(rRegion, 3, pixels + 1, 1, channels) : null;
                    epilogue.apply(region, offset, pixels * channels, residual, 1);
                    for (int i = 0; i < x.length; i++)
                    {
                        final boolean inside = i >= offset && i < offset + pixels * channels;
                        final float sum = inside ? x[i] + (bias == null ? 0f : bias[(i - offset) % channels]) : 0f;
                        final float expected = inside ?
                            activation.apply(withResidual ? sum + r[channels + i - offset] : sum) : x[i];
                        // the vector sigmoid's float exp rounds differently from apply's double exp: a few ulps
                        final float tolerance = activation.kind() == Activation.Kind.SIGMOID ? 1e-6f : 1e-7f;
                        assertEquals(expected, region.floats().get(i), tolerance, "float " + i + " of " + channels +
                            " channels, " + activation + ", vector " + vector + ", residual " + withResidual);
                    }
                }
            }
        }
    }

    @Test
    void shouldSaturateTheSigmoidLikeApplyOnBothLoops()
    {
        final Activation sigmoid = Activation.of(Activation.Kind.SIGMOID, 0f, 0f);
        final float[] x = { -1e30f, -200f, -88f, -20f, -1e-3f, 0f, 1e-3f, 20f, 88f, 200f, 1e30f,
            Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -3f, 3f, 0.5f, -0.5f };
        for (final boolean vector : new boolean[]{ false, true })
        {
            final Epilogue epilogue = new Epilogue(null, 1, sigmoid, vector);
            final FloatRegion region = FloatRegion.allocate(x.length);
            region.put(0, x);
            epilogue.apply(region, 0, x.length, null, 0);
            for (int i = 0; i < x.length; i++)
            {
                assertEquals(sigmoid.apply(x[i]), region.floats().get(i), 1e-6f, "sigmoid(" + x[i] + "), vector " +
                    vector);
            }
        }
    }

    /** @return {@code false} if the random input size gives no output (the case is skipped). */
    private static boolean runRandomCase(final ConvParams p, final SplittableRandom random, final boolean grouped)
    {
        final int inH = 1 + random.nextInt(13);
        final int inW = 1 + random.nextInt(13);
        final int outH;
        try
        {
            outH = p.outputHeight(inH);
            p.outputWidth(inW);
        }
        catch (final IllegalArgumentException ex)
        {
            return false;
        }
        final float[] weights = ConvHarness.randomArray(random,
            p.outChannels() * p.inChannelsPerGroup() * p.kernelH() * p.kernelW());
        final float[] bias = random.nextBoolean() ? ConvHarness.randomArray(random, p.outChannels()) : null;
        final Activation activation = ConvHarness.randomActivation(random);
        final ConvKernel kernel = grouped ? new Conv2d(p, weights, bias, activation) :
            ConvKernel.create(p, weights, bias, activation);
        final ConvHarness.Case c = ConvHarness.conv(kernel, weights, bias, activation, inH, inW, random);
        final int[] range = ConvHarness.randomRange(random, outH);
        ConvHarness.runAndCheck(c, range[0], range[1], random);
        return true;
    }
}
