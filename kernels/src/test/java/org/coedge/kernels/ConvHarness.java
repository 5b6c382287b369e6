package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

/**
 * Runs a convolution kernel the way a row-slice executor does: the input view holds only the rows the output range
 * needs, at a non-zero offset, surrounded by NaN garbage; the output view is a window wider than the range, surrounded
 * by sentinels; scratch starts at an offset and is full of NaN. Then checks the range against the reference and that
 * nothing outside it was written.
 */
final class ConvHarness
{
    static final float TOLERANCE = 1e-5f;
    static final float SENTINEL = -7777.25f;

    private ConvHarness()
    {
    }

    /** A whole input map, its reference output and a kernel to run. */
    static final class Case
    {
        final ConvKernel kernel;
        final float[] input;
        final int inH;
        final int inW;
        final float[] expected;
        final float[] residual;
        /**
         * The largest magnitude before the activation: errors are relative to it, since an activation that clips or
         * an affine tail that shifts can leave outputs far smaller than the sums the kernel rounded.
         */
        final double magnitude;

        Case(final ConvKernel kernel, final float[] input, final int inH, final int inW, final float[] expected,
            final float[] preActivation)
        {
            this(kernel, input, inH, inW, expected, null, preActivation);
        }

        Case(final ConvKernel kernel, final float[] input, final int inH, final int inW, final float[] expected,
            final float[] residual, final float[] preActivation)
        {
            this.kernel = kernel;
            this.input = input;
            this.inH = inH;
            this.inW = inW;
            this.expected = expected;
            this.residual = residual;
            double m = 0;
            for (final float v : preActivation)
            {
                m = Math.max(m, Math.abs(v));
            }
            this.magnitude = m;
        }

        int outH()
        {
            return kernel.params().outputHeight(inH);
        }

        int outW()
        {
            return kernel.params().outputWidth(inW);
        }
    }

    static Case conv(
        final ConvKernel kernel, final float[] weights, final float[] bias, final Activation activation,
        final int inH, final int inW, final SplittableRandom random)
    {
        final ConvParams p = kernel.params();
        final float[] input = randomArray(random, inH * inW * p.inChannels());
        return new Case(kernel, input, inH, inW,
            ConvReference.conv(input, inH, inW, p, weights, bias, activation),
            ConvReference.conv(input, inH, inW, p, weights, bias, Activation.NONE));
    }

    /**
     * A case whose kernel also adds a random residual map: the reference is {@code f(conv + bias + residual)},
     * the naive convolution without activation, plus the residual, then the activation.
     */
    static Case convResidual(
        final ConvKernel kernel, final float[] weights, final float[] bias, final Activation activation,
        final int inH, final int inW, final SplittableRandom random)
    {
        final ConvParams p = kernel.params();
        final float[] input = randomArray(random, inH * inW * p.inChannels());
        final float[] expected = ConvReference.conv(input, inH, inW, p, weights, bias, Activation.NONE);
        final float[] residual = randomArray(random, expected.length);
        final float[] pre = new float[expected.length];
        for (int i = 0; i < expected.length; i++)
        {
            pre[i] = (float)((double)expected[i] + residual[i]);
            expected[i] = activation.apply(pre[i]);
        }
        return new Case(kernel, input, inH, inW, expected, residual, pre);
    }

    static Case convTranspose(
        final ConvKernel kernel, final float[] weights, final float[] bias, final Activation activation,
        final int inH, final int inW, final SplittableRandom random)
    {
        final ConvParams p = kernel.params();
        final float[] input = randomArray(random, inH * inW * p.inChannels());
        return new Case(kernel, input, inH, inW,
            ConvReference.convTranspose(input, inH, inW, p, weights, bias, activation),
            ConvReference.convTranspose(input, inH, inW, p, weights, bias, Activation.NONE));
    }

    /**
     * Computes output rows {@code [h0, h1)} of {@code c} from a minimal input window and checks them.
     *
     * @return the largest relative error seen.
     */
    static double runAndCheck(final Case c, final int h0, final int h1, final SplittableRandom random)
    {
        final ConvParams p = c.kernel.params();
        final int outH = c.outH();
        final int outW = c.outW();
        final int cout = p.outChannels();
        final MapView in = minimalInput(c, h0, h1, random);

        final int w0 = h0 - random.nextInt(h0 + 1);
        final int w1 = h1 + random.nextInt(outH - h1 + 1);
        final int outLead = 1 + random.nextInt(40);
        final int outRowFloats = outW * cout;
        final FloatRegion outRegion = FloatRegion.allocate(outLead + (w1 - w0) * outRowFloats + 1 + random.nextInt(40));
        outRegion.fill(0, outRegion.length(), SENTINEL);
        final MapView out = new MapView().wrap(outRegion, outLead, outH, outW, cout, w0, w1 - w0);
        if (h1 > h0)
        {
            outRegion.fill(out.rowOffset(h0), (h1 - h0) * outRowFloats, Float.NaN);
        }

        final int scratchFloats = c.kernel.scratchFloats(c.inW, h1 - h0);
        final int scratchOffset = random.nextInt(17);
        final FloatRegion scratch = FloatRegion.allocate(Math.max(1, scratchOffset + scratchFloats));
        scratch.fill(0, scratch.length(), Float.NaN);

        if (c.residual == null)
        {
            c.kernel.forward(in, out, h0, h1, scratch, scratchOffset);
        }
        else
        {
            c.kernel.forward(in, residualWindow(c, w0, w1, h0, h1, random), out, h0, h1, scratch, scratchOffset);
        }

        final int rangeStart = h1 > h0 ? out.rowOffset(h0) : outLead;
        final int rangeEnd = rangeStart + (h1 - h0) * outRowFloats;
        for (int i = 0; i < outRegion.length(); i++)
        {
            if (i < rangeStart || i >= rangeEnd)
            {
                assertEquals(SENTINEL, outRegion.floats().get(i), "float " + i + " outside rows [" + h0 + ", " +
                    h1 + ") was written, " + p);
            }
        }
        final double error = relativeError(c.expected, h0 * outRowFloats, outRegion, rangeStart,
            (h1 - h0) * outRowFloats, c.magnitude);
        assertTrue(error <= TOLERANCE, "relative error " + error + " for rows [" + h0 + ", " + h1 + ") of " + outH +
            ", input " + c.inH + "x" + c.inW + ", " + p);
        return error;
    }

    /**
     * A view of the case's residual holding rows {@code [w0, w1)} at a random offset, NaN outside the rows
     * {@code [h0, h1)} the call may read.
     */
    private static MapView residualWindow(
        final Case c, final int w0, final int w1, final int h0, final int h1, final SplittableRandom random)
    {
        final int cout = c.kernel.params().outChannels();
        final int outW = c.outW();
        final int rowFloats = outW * cout;
        final int lead = 1 + random.nextInt(40);
        final FloatRegion region = FloatRegion.allocate(lead + (w1 - w0) * rowFloats + 1 + random.nextInt(40));
        region.fill(0, region.length(), Float.NaN);
        final MapView view = new MapView().wrap(region, lead, c.outH(), outW, cout, w0, w1 - w0);
        if (h1 > h0)
        {
            region.floats().put(view.rowOffset(h0), c.residual, h0 * rowFloats, (h1 - h0) * rowFloats);
        }
        return view;
    }

    /** An input view holding exactly the clipped input rows the kernel reads for output rows {@code [h0, h1)}. */
    static MapView minimalInput(final Case c, final int h0, final int h1, final SplittableRandom random)
    {
        final ConvParams p = c.kernel.params();
        final int i0 = h1 > h0 ? c.kernel.firstInputRow(h0, h1, c.inH) : 0;
        final int i1 = h1 > h0 ? c.kernel.endInputRow(h0, h1, c.inH) : 0;
        final int inRowFloats = c.inW * p.inChannels();
        final int inLead = 1 + random.nextInt(40);
        final FloatRegion inRegion = FloatRegion.allocate(inLead + (i1 - i0) * inRowFloats + 1 + random.nextInt(40));
        inRegion.fill(0, inRegion.length(), Float.NaN);
        inRegion.floats().put(inLead, c.input, i0 * inRowFloats, (i1 - i0) * inRowFloats);
        return new MapView().wrap(inRegion, inLead, c.inH, c.inW, p.inChannels(), i0, i1 - i0);
    }

    /** @return max |actual - expected| / max |expected| over {@code count} floats (max |expected| taken >= 1e-3). */
    static double relativeError(
        final float[] expected, final int expectedOffset, final FloatRegion actual, final int actualOffset,
        final int count)
    {
        return relativeError(expected, expectedOffset, actual, actualOffset, count, 0);
    }

    /** As above, relative to at least {@code magnitude} (the outputs' scale before the activation). */
    static double relativeError(
        final float[] expected, final int expectedOffset, final FloatRegion actual, final int actualOffset,
        final int count, final double magnitude)
    {
        double maxError = 0;
        double maxReference = Math.max(1e-3, magnitude);
        for (int i = 0; i < count; i++)
        {
            final double e = expected[expectedOffset + i];
            final double a = actual.floats().get(actualOffset + i);
            maxReference = Math.max(maxReference, Math.abs(e));
            maxError = Double.isNaN(a) ? Double.POSITIVE_INFINITY : Math.max(maxError, Math.abs(a - e));
        }
        return maxError / maxReference;
    }

    static float[] randomArray(final SplittableRandom random, final int length)
    {
        final float[] a = new float[length];
        for (int i = 0; i < length; i++)
        {
            a[i] = (float)(random.nextDouble() * 2 - 1);
        }
        return a;
    }

    /**
     * A random activation, one time in three with an affine tail (a Mul and an Add by scalars after it): a scale of
     * magnitude 0.5-1.5 and a shift small against the outputs, so that the tail does not cancel the outputs'
     * magnitude that the relative error is taken against.
     */
    static Activation randomActivation(final SplittableRandom random)
    {
        final Activation base = randomBaseActivation(random);
        if (random.nextInt(3) != 0)
        {
            return base;
        }
        final float scale = (float)((0.5 + random.nextDouble()) * (random.nextBoolean() ? 1 : -1));
        return base.withAffine(scale, (float)(random.nextDouble() * 0.2 - 0.1));
    }

    private static Activation randomBaseActivation(final SplittableRandom random)
    {
        switch (random.nextInt(6))
        {
            case 5:
                return Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f);
            case 0:
                return Activation.NONE;
            case 1:
                return Activation.RELU;
            case 2:
                return Activation.clip(-0.5f, 0.75f);
            case 3:
                return Activation.leakyRelu(0.1f);
            default:
                return Activation.of(Activation.Kind.SIGMOID, 0f, 0f);
        }
    }

    /** A random output row range, the whole map one time in four. */
    static int[] randomRange(final SplittableRandom random, final int outH)
    {
        if (random.nextInt(4) == 0)
        {
            return new int[]{ 0, outH };
        }
        final int h0 = random.nextInt(outH);
        final int h1 = h0 + 1 + random.nextInt(outH - h0);
        return new int[]{ h0, h1 };
    }
}
