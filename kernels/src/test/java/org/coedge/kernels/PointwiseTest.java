package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.outputWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.rowRange;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class PointwiseTest
{
    private static final Activation[] ACTIVATIONS = {
        Activation.NONE,
        Activation.RELU,
        Activation.leakyRelu(0.1f),
        Activation.clip(-0.5f, 0.75f),
        Activation.clip(0f, 6f),
        Activation.of(Activation.Kind.SIGMOID, 0f, 0f),
        Activation.hardSigmoid(0.2f, 0.5f),
        Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f),
        Activation.of(Activation.Kind.TANH, 0f, 0f)
    };

    @Test
    void shouldMatchReferenceForEveryActivationOnRowSlicesAndInPlace()
    {
        final SplittableRandom random = new SplittableRandom(51);
        for (final Activation activation : ACTIVATIONS)
        {
            for (int trial = 0; trial < 8; trial++)
            {
                final int h = 1 + random.nextInt(7);
                final int w = 1 + random.nextInt(7);
                final int c = 1 + random.nextInt(9);
                final float[] x = random(random, h * w * c);
                for (int i = 0; i < x.length; i++)
                {
                    x[i] *= 8;
                }
                final int[] range = rowRange(random, h);
                final MapView in = window(random, x, h, w, c, range[0], range[1]);
                final boolean inPlace = trial % 2 == 0;
                final MapView out = inPlace ? in : outputWindow(random, h, w, c, range[0], range[1]);
                Pointwise.of(activation).forward(in, out, range[0], range[1]);
                assertRows(activation + (inPlace ? " in place" : ""), OpsReference.activation(x, activation), out,
                    range[0], range[1]);
            }
        }
    }

    @Test
    void affineTailMatchesTheReferenceAndIsRefusedWhereNoKernelAppliesIt()
    {
        final SplittableRandom random = new SplittableRandom(54);
        final float[] x = random(random, 257);
        for (int i = 0; i < x.length; i++)
        {
            x[i] *= 8;
        }
        for (final Activation base : ACTIVATIONS)
        {
            final Activation a = base.withAffine(-1.75f, 0.375f);
            final float[] expected = OpsReference.activation(x, a);
            final FloatRegion region = FloatRegion.allocate(x.length);
            region.put(0, x);
            a.applyInPlace(region, 0, x.length);
            for (int i = 0; i < x.length; i++)
            {
                // the reference's double formulas, then a float multiply and add
                assertEquals(expected[i], a.apply(x[i]), 2e-6f * Math.max(1f, Math.abs(expected[i])), a + " at " + i);
                assertEquals(a.apply(x[i]), region.floats().get(i), 0f, a + " in place at " + i);
            }
            assertFalse(a.isIdentity(), a.toString());
            assertThrows(IllegalArgumentException.class, () -> a.withAffine(2f, 0f));
        }
        assertThrows(IllegalArgumentException.class, () -> Activation.RELU.withAffine(Float.NaN, 0f));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Pointwise.of(Activation.RELU.withAffine(2f, 1f)));
        assertTrue(e.getMessage().contains("affine tail"), e.getMessage());
    }

    @Test
    void shouldMatchReferencePreluPerChannelAndScalarSlopes()
    {
        final SplittableRandom random = new SplittableRandom(52);
        for (int trial = 0; trial < 30; trial++)
        {
            final int h = 1 + random.nextInt(7);
            final int w = 1 + random.nextInt(7);
            final int c = 1 + random.nextInt(9);
            final float[] slope = random(random, trial % 2 == 0 ? c : 1);
            final float[] x = random(random, h * w * c);
            final int[] range = rowRange(random, h);
            final MapView in = window(random, x, h, w, c, range[0], range[1]);
            final boolean inPlace = trial % 3 == 0;
            final MapView out = inPlace ? in : outputWindow(random, h, w, c, range[0], range[1]);
            Pointwise.prelu(slope).forward(in, out, range[0], range[1]);
            assertRows("prelu " + slope.length + " slopes", OpsReference.prelu(x, c, slope), out, range[0], range[1]);
        }
    }

    @Test
    void shouldRejectSlopeMismatchMissingRowsAndShiftedAlias()
    {
        final SplittableRandom random = new SplittableRandom(53);
        final MapView in = window(random, random(random, 5 * 4 * 3), 5, 4, 3, 1, 5);
        final MapView out = emptyWindow(random, 5, 4, 3, 0, 5);
        assertThrows(IllegalArgumentException.class, () -> Pointwise.prelu(new float[2]).forward(in, out, 1, 5));
        assertThrows(IllegalArgumentException.class, () -> Pointwise.of(Activation.RELU).forward(in, out, 0, 5));
        assertThrows(IllegalArgumentException.class,
            () -> Pointwise.of(Activation.RELU).forward(in, emptyWindow(random, 5, 4, 2, 0, 5), 1, 5));
        final MapView shifted = new MapView().wrap(in.region(), in.offset() + 1, 5, 4, 3, 1, 3);
        assertThrows(IllegalArgumentException.class, () -> Pointwise.of(Activation.RELU).forward(in, shifted, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> Pointwise.prelu(new float[0]));
    }
}
